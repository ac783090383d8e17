# imprint: after a boot where the TPM no longer unlocked the encrypted root by itself
# (imprint-tpm-check.service found it), offer at root's login on a terminal to reseal it now
# with the recovery key (imprint tpm check --offer). Declined, it is not asked again this boot.
if [ -e /run/imprint/tpm-key-stale.json ] && [ ! -e /run/imprint/tpm-offer-declined ] \
    && [ "$(id -u)" = 0 ] && [ -t 0 ] && [ -z "${IMPRINT_TPM_OFFERED:-}" ]; then
    IMPRINT_TPM_OFFERED=1
    export IMPRINT_TPM_OFFERED
    /usr/bin/imprint tpm check --offer || true
fi
