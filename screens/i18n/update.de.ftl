## Die Aktualisierungsseite (imprint update)

update-flow = Aktualisierung
update-page-versions = Versionen
update-page-downloading = Herunterladen
update-page-done = Installiert
update-page-failed = Aktualisierung fehlgeschlagen
update-checking = Suche nach Aktualisierungen: Die Aktualisierungsregeln und die signierte Versionsliste werden gelesen...
update-intro = Eine neuere Version ist verfügbar. Sie wird in den freien Bereich geladen; das laufende System bleibt unberührt. Wählen Sie eine Version und drücken Sie Enter.
update-up-to-date = Dieses System ist aktuell. Angebotene und installierte Versionen:
update-current = läuft jetzt
update-installed = installiert
update-newest = neueste, verfügbar
update-available = verfügbar
update-help-install = installieren
update-help-check = erneut suchen
update-help-reboot = jetzt neu starten
update-help-later = später neu starten
update-downloading = Version { $version } wird heruntergeladen und geprüft...
update-safe = Das laufende System wird nicht verändert. Bricht dies ab, geht nichts kaputt: Die nächste Aktualisierung beginnt von vorn.
update-done = Version { $version } ist installiert und geprüft. Starten Sie den Computer neu, um sie zu nutzen.
update-failed-safe = Am laufenden System wurde nichts verändert.
update-quit-body = Die Aktualisierungsseite verlassen? Ein laufender Download wird abgebrochen; das laufende System bleibt, wie es ist.
update-older = älter, verfügbar
update-older-title = Ältere Version installieren?
update-older-body = Version { $version } ist älter als die, die dieses System hat. Älteren Versionen können Sicherheitskorrekturen fehlen, und was die neuere geändert hat, passt vielleicht nicht zu ihr. Installieren Sie sie nur, wenn Sie zurück wollen.
update-older-keys = y ältere Version installieren   jede andere Taste: zurück
