# imprints Terminal-Oberfläche, Deutsch.
# Jede Nachricht hier muss auch in en.ftl stehen (ein Test prüft das).

## Rahmen, Hilfezeile, Dialoge

product-name = imprint
installer-flow = Installation
title-step = Schritt { $at } von { $of }
title-demo = DEMO
error-prefix = Fehler:
key-ctrl-c = Strg-C
key-any = beliebige Taste
help-quit = beenden
help-back = zurück
help-choose = auswählen
help-continue = weiter
help-select = wählen
help-refresh = neu suchen
help-type-to-search = suchen
help-type-to-try = ausprobieren
help-to-try = zum Tippfeld
help-to-list = zur Liste
help-next-field = nächstes Feld
help-policy = Richtlinie
help-type-group = Gruppe eintippen
help-qr-code = QR-Code
help-type-name = Namen der Festplatte eintippen
help-install = installieren
help-show-log = Protokoll zeigen
help-hide-log = Protokoll ausblenden
quit-title = Beenden?
quit-title-installing = Installation abbrechen?
quit-body = Es wurde noch nichts auf eine Festplatte geschrieben. Möchten Sie das Installationsprogramm beenden?
quit-body-installing = Die Installation läuft noch. Wenn Sie jetzt beenden, bricht sie mittendrin ab und die Zielfestplatte startet nicht; Sie müssten erneut installieren. Trotzdem beenden?
quit-body-finished = Möchten Sie das Installationsprogramm beenden?
quit-keys = j = ja, beenden   n = nein, bleiben

## Seiten

page-language = Sprache
page-keyboard = Tastatur
page-disk = Festplatte
page-encryption = Verschlüsselung
page-recovery = Wiederherstellungsschlüssel
page-summary = Zusammenfassung
page-progress = Installation läuft
page-done = Fertig
page-failed = Fehlgeschlagen

## Sprache

language-intro = Welche Sprache soll das Installationsprogramm verwenden?
language-hint = Der Text wechselt, sobald Sie die Auswahl bewegen.

## Tastatur

keyboard-search = Suche:
keyboard-count = { $shown } von { $all }
keyboard-no-match = Keine Tastaturbelegung passt. Ändern Sie die Suche mit der Rücktaste.
keyboard-intro = Wählen Sie Ihre Tastaturbelegung. Sie gilt sofort auf diesem Bildschirm, im installierten System und bei der Abfrage von PIN oder Passphrase beim Start des Computers.
keyboard-chosen = Gewählt: { $keymap }
keyboard-try = Hier ausprobieren:
keyboard-tip = Tippen Sie zum Suchen, zum Beispiel „de“ für deutsche Belegungen. Mit Tab probieren Sie die Belegung aus, etwa mit z, y oder @.

## Festplatte

disk-loading = Festplatten werden gesucht …
disk-refreshing = (wird neu gesucht …)
disk-none = Es wurde keine Festplatte gefunden, auf der das System installiert werden kann.
disk-none-hint = Schließen Sie eine Festplatte an und drücken Sie r, um neu zu suchen.
disk-intro = Wohin soll { $source } ({ $size }) installiert werden? Größen in GB (1 GB = 1.000.000.000 Byte).
disk-details = Gewählte Festplatte
disk-status-fits = passt
disk-status-erase = wird gelöscht
disk-status-too-small = zu klein
disk-status-unusable = nicht nutzbar
disk-status-unknown = nicht geprüft
disk-cannot-use = Diese Festplatte kann nicht verwendet werden, weil:
disk-verdict-fits = Das System passt auf diese Festplatte. Alles darauf wird ersetzt.
disk-verdict-erase = Das System passt, aber die Installation löscht, was jetzt auf der Festplatte ist:
disk-verdict-too-small = Diese Festplatte ist zu klein: Das System braucht { $need }, die Festplatte hat { $have }.
disk-verdict-unknown = Diese Festplatte wurde noch nicht geprüft und kann deshalb nicht gewählt werden. Drücken Sie r, um neu zu suchen.
disk-refused = Diese Festplatte kann nicht gewählt werden. Wählen Sie eine mit „passt“ oder „wird gelöscht“.

## Verschlüsselung

encryption-tpm = TPM (entsperrt von selbst)
encryption-tpm-pin = TPM und PIN
encryption-passphrase = Passphrase
encryption-none = Keine Verschlüsselung
encryption-unavailable = (nicht verfügbar)
encryption-tpm-explain = Die Daten werden mit einem Schlüssel verschlüsselt, den der Sicherheitschip (TPM) dieses Computers verwahrt. Der Computer entsperrt sie beim Start von selbst, aber nur dieser Computer und nur, solange er so startet wie jetzt. Wer die Festplatte ausbaut, kann sie nicht lesen.
encryption-tpm-pin-explain = Wie TPM, aber Sie tippen zusätzlich bei jedem Start eine PIN. Wer den ganzen Computer stiehlt, braucht trotzdem die PIN. Das TPM erlaubt nur wenige Fehlversuche, daher genügt eine kurze PIN.
encryption-passphrase-explain = Sie tippen bei jedem Start eine Passphrase. Das funktioniert auf jedem Computer. Wer die Festplatte hat, kann Passphrasen so schnell durchprobieren, wie sein Computer erlaubt; wählen Sie daher eine lange.
encryption-none-explain = Achtung: Die Daten werden nicht verschlüsselt. Wer diese Festplatte oder diesen Computer hat, kann alles darauf lesen.
encryption-tpm-unusable = Das TPM kann nicht verwendet werden:
encryption-choose-other = Diese Option braucht ein funktionierendes TPM. Wählen Sie stattdessen eine Passphrase, oder beheben Sie das Problem wie oben beschrieben und starten Sie das Installationsprogramm neu.
encryption-tpm-no-advice = Auf diesem Computer wurde kein nutzbares TPM gefunden.
encryption-recovery-when = Das TPM verweigert das Entsperren, und Sie brauchen den Wiederherstellungsschlüssel, nach:
encryption-recovery-also = Sie bekommen außerdem einen Wiederherstellungsschlüssel, falls Sie die Passphrase vergessen.
pcr-firmware = einem Firmware-Update (BIOS/UEFI)
pcr-firmware-settings = einer Änderung der Firmware-Einstellungen
pcr-option-roms = dem Einbau oder Wechsel einer Erweiterungskarte
pcr-boot-loader = einem Update des Bootloaders
pcr-partition-table = einer Änderung der Partitionstabelle
pcr-secure-boot = dem Abschalten von Secure Boot oder einer Änderung seiner Schlüssel (das tun manche Firmware-Updates)
pcr-command-line = einer Änderung der Kernel-Befehlszeile
pcr-initrd = einer Änderung der Initrd
pcr-system-image = einem System-Update, das das Kernel-Image ändert
pcr-system-identity = einer Änderung der Identität des Systems
pcr-other = jeder Änderung, die in PCR { $pcr } gemessen wird
pcr-always = dem Umzug der Festplatte in einen anderen Computer, dem Start eines anderen Betriebssystems von ihr oder dem Zurücksetzen des TPM
pcr-signed-image = dem Start eines nicht mit diesem Schlüssel signierten Systems
encryption-policy = Richtlinie:
encryption-policy-signed = PCR { $pcrs } + signiertes PCR 11
encryption-policy-pcrs = nur PCR { $pcrs }
encryption-policy-signed-explain = PCR { $pcrs } + signiertes PCR 11: Das TPM prüft zusätzlich, dass das System mit dem Schlüssel des Abbilds signiert ist: Signierte Updates entsperren weiter, ein anderes System nicht.
encryption-policy-pcrs-explain = Nur PCR { $pcrs }: Das TPM prüft, wie der Computer startet, nicht welches System: Jedes genauso gestartete System kann die Festplatte entsperren.
encryption-policy-key = Der Schlüssel des Abbilds: { $key }.
encryption-rules = Mindestens { $min } Zeichen, beim Start tippbar mit der Belegung { $keymap }.
encryption-pin = PIN:
encryption-pin-again = PIN wiederholen:
encryption-passphrase-field = Passphrase:
encryption-passphrase-again = Passphrase wiederholen:
encryption-accepted = Angenommen.
encryption-pin-too-short = Die PIN braucht mindestens { $min } Zeichen.
encryption-passphrase-too-short = Die Passphrase braucht mindestens { $min } Zeichen: Wer die Festplatte hat, kann kurze schnell durchprobieren.
encryption-pin-mismatch = Die beiden PINs unterscheiden sich. Tippen Sie zweimal dieselbe PIN.
encryption-passphrase-mismatch = Die beiden Passphrasen unterscheiden sich. Tippen Sie zweimal dieselbe Passphrase.
encryption-not-typeable = „{ $char }“ lässt sich beim Start mit der Belegung { $keymap } nicht tippen. Verwenden Sie Buchstaben, Ziffern und Satzzeichen dieser Belegung.

## Wiederherstellungsschlüssel

recovery-loading = Wiederherstellungsschlüssel wird erzeugt …
recovery-intro = Das ist Ihr Wiederherstellungsschlüssel. Schreiben Sie ihn auf oder fotografieren Sie den QR-Code:
recovery-explain = Er ist der einzige Weg zu Ihren Daten, wenn das TPM das Entsperren verweigert oder Sie PIN oder Passphrase vergessen. Bewahren Sie ihn sicher auf, nicht auf diesem Computer.
recovery-qr-press-tab = (Drücken Sie Tab, um den Schlüssel als QR-Code bildschirmfüllend zu sehen.)
recovery-qr-title = Wiederherstellungsschlüssel als QR-Code: mit dem Telefon fotografieren
recovery-qr-no-room = Der Bildschirm ist zu klein für den QR-Code. Schreiben Sie den Schlüssel stattdessen auf.
recovery-qr-return = Eine beliebige Taste führt zur Seite zurück.
recovery-type-group = Tippen Sie zur Bestätigung Gruppe { $n } des Schlüssels ab (die Gruppen sind durch „-“ getrennt).
recovery-group-label = Gruppe { $n }:
recovery-wrong-group = Das ist nicht Gruppe { $n }. Prüfen Sie Ihre Notiz und versuchen Sie es noch einmal.

## Zusammenfassung

summary-what = { $source } ({ $size }) auf { $disk } installieren ({ $disksize }, { $model }).
summary-settings = Verschlüsselung: { $encryption }. Tastatur: { $keymap }. Sprache: { $language }.
summary-loading-plan = Die Partitionen der Festplatte werden gelesen …
summary-before = Jetzt
summary-after = Nach der Installation
summary-col-number = Nr.
summary-col-label = Name
summary-col-kind = Art
summary-col-size = Größe
summary-col-change = Änderung
summary-no-partitions = (keine Partitionen)
change-keep = bleibt
change-create = neu
change-erase = LÖSCHEN
summary-erase-warning = Alles auf den mit LÖSCHEN markierten Partitionen geht unwiderruflich verloren.
summary-type = Tippen Sie zum Starten den Namen der Festplatte, { $name }, ein und drücken Sie Enter.
summary-disk-name = Name der Festplatte:
summary-name-mismatch = Tippen Sie genau { $name }, um zu starten. Es wurde noch nichts geschrieben.
summary-wait-plan = Warten Sie, bis die Partitionen angezeigt werden. Es wurde noch nichts geschrieben.

## Fortschritt

progress-intro = Das System wird installiert. Das kann einige Minuten dauern.
progress-running = (läuft)
progress-failed = (fehlgeschlagen)
progress-bytes = { $done } von { $total }
progress-eta = noch etwa { $time }
progress-keep-power = Lassen Sie den Computer eingeschaltet und die Festplatten angeschlossen.
progress-log = Protokoll
progress-log-empty = (noch keine Einträge)
step-wipe = Alte Signaturen entfernen
step-copy = System kopieren
step-format = Dateisysteme anlegen
step-encrypt = Verschlüsselung einrichten
step-table = Partitionstabelle schreiben
step-verify = Geschriebenes prüfen
step-boot = Bootloader einrichten
step-proof = Prüfen, ob das System entsperrt

## Fertig

done-ok = Das System ist installiert.
done-seed = Die UUIDs der Festplatte stammen aus dem Startwert { $seed }: `imprint install --seed` erzeugt dieselben wieder.
done-proof-failed = Das System ist installiert, aber eine Prüfung ist fehlgeschlagen. Halten Sie den Wiederherstellungsschlüssel bereit.
done-proof-intro = Was geprüft wurde:
done-check-failed = FEHLER
proof-table = die Partitionstabelle liest sich wie geplant zurück
proof-data = die kopierten Daten stimmen mit dem Abbild überein
proof-tpm = das TPM entsperrt die Festplatte
proof-recovery-key = der Wiederherstellungsschlüssel entsperrt die Festplatte
proof-passphrase = die Passphrase oder PIN entsperrt die Festplatte
done-remove-media = Entfernen Sie beim Neustart oder nach dem Ausschalten das Installationsmedium (etwa den USB-Stick), damit der Computer von der neuen Festplatte startet.
done-reboot = Neu starten
done-power-off = Ausschalten
done-quit = Beenden
failed-title = Die Installation ist fehlgeschlagen.
failed-explain = Die Zielfestplatte ist jetzt möglicherweise leer oder halb beschrieben; keine andere Festplatte wurde verändert. Sie können das Installationsprogramm erneut starten.
failed-log = Letzte Protokollzeilen

## Zeilenmodus (--plain): Fragen als Zeilen

plain-choose-number = Geben Sie eine Nummer ein und drücken Sie Enter:
plain-invalid-choice = Geben Sie eine der Nummern 1 bis { $max } ein, die nicht als nicht verfügbar markiert ist.
plain-keymap-unknown = Es gibt kein Tastaturlayout „{ $keymap }“. Ähnliche:
