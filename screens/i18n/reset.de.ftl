# imprints Rücksetzmenü für Kiosk-Geräte, Deutsch.
# Jede Nachricht hier muss auch in reset.en.ftl stehen (ein Test prüft das).

## Rahmen, Hilfezeile, Frage vor dem Beenden

reset-flow = Gerät
reset-page-pin = PIN
reset-page-menu = Menü
reset-page-confirm = Werkseinstellungen
reset-page-progress = Zurücksetzen
reset-page-done = Fertig
reset-page-failed = Fehlgeschlagen
reset-key-ctrl-c = Strg-C
reset-help-quit = beenden
reset-help-back = zurück
reset-help-choose = auswählen
reset-help-do = ausführen
reset-help-type-pin = PIN tippen
reset-help-unlock = entsperren
reset-help-type-word = Wort tippen
reset-help-reset = zurücksetzen
reset-help-to-menu = zurück zum Menü
reset-quit-title = Beenden?
reset-quit-body = Möchten Sie dieses Menü verlassen?
reset-quit-body-running = Das Zurücksetzen läuft. Wenn Sie jetzt beenden, bleibt das Gerät womöglich halb gelöscht. Trotzdem beenden?
reset-quit-keys = j = ja, beenden   n = nein, bleiben
reset-error = Fehler: { $reason }

## PIN

reset-pin-intro = Dieses Menü ist geschützt. Tippen Sie die PIN, um es zu öffnen.
reset-pin-label = PIN:
reset-pin-checking = Die PIN wird geprüft...
reset-pin-wrong = Falsche PIN ({ $count ->
        [one] 1 Fehlversuch
       *[other] { $count } Fehlversuche
    }). Versuchen Sie es noch einmal.
reset-pin-wait = Zu viele falsche PINs. Der nächste Versuch wird in { $seconds ->
        [one] 1 Sekunde
       *[other] { $seconds } Sekunden
    } angenommen.
reset-pin-ask = Wenn Sie die PIN nicht kennen, fragen Sie die Person, die dieses Gerät betreut.

## Menü

reset-info-title = Dieses Gerät
reset-info-system = System
reset-info-disk = Festplatte
reset-info-last = Zuletzt zurückgesetzt
reset-never = nie
reset-menu-question = Was möchten Sie tun?
reset-entry-reset = Auf Werkseinstellungen zurücksetzen...
reset-entry-reset-explain = Alle Daten und Einstellungen löschen und wie frisch installiert neu beginnen. Das System selbst bleibt. Sie sehen vorher, was gelöscht wird, und bestätigen.
reset-entry-reboot = Neu starten
reset-entry-reboot-explain = Das Gerät jetzt neu starten.
reset-entry-poweroff = Ausschalten
reset-entry-poweroff-explain = Das Gerät jetzt ausschalten.
reset-entry-quit = Beenden
reset-entry-quit-explain = Dieses Menü verlassen; nichts ändert sich.

## Werkseinstellungen

reset-confirm-intro = Das Zurücksetzen bringt dieses Gerät in den Zustand, in dem es installiert wurde. Was gelöscht wird, lässt sich nicht wiederherstellen.
reset-erase-title = Wird gelöscht
reset-keep-title = Bleibt
reset-erase-none = nichts
reset-keep-none = nichts
reset-confirm-word = LÖSCHEN
reset-confirm-label = Zum Zurücksetzen { $word } tippen:
reset-confirm-warning = Mit Esc geht es zurück, ohne etwas zu ändern.
reset-confirm-wrong = Das ist nicht { $word }. Tippen Sie das Wort genau wie angezeigt, in Großbuchstaben.

## Fortschritt und Ergebnis

reset-progress-intro = Das Gerät wird zurückgesetzt. Schalten Sie es nicht aus.
reset-done-intro = Das Gerät ist auf Werkseinstellungen zurückgesetzt. Starten Sie neu, um es wie frisch installiert zu nutzen.
reset-failed-intro = Das Zurücksetzen ist fehlgeschlagen.
reset-failed-next = Mit Enter oder Esc geht es zurück zum Menü.

## Fortschritt: jeder Schritt

reset-step-erase = Partition { $number } „{ $label }“ ({ $size }) unwiederbringlich löschen
reset-step-table-without = Partitionstabelle ohne die gelöschten Partitionen schreiben ({ $left } bleiben)
reset-step-wipe = alte Partitionstabelle löschen
reset-step-clear = Partition { $number } „{ $label }“ leeren
reset-step-clear-encrypted = Partition { $number } „{ $label }“ leeren und verschlüsseln
reset-step-format = Partition { $number } „{ $label }“ als { $fs } formatieren
reset-step-format-encrypted = Partition { $number } „{ $label }“ verschlüsseln und als { $fs } formatieren
reset-step-copy = { $size } in Partition { $number } „{ $label }“ kopieren
reset-step-copy-encrypted = { $size } verschlüsselt in Partition { $number } „{ $label }“ kopieren
reset-step-table = Partitionstabelle schreiben ({ $partitions } Partitionen)
reset-step-verify = kopierte Partitionen zurücklesen und vergleichen
reset-step-boot = Starteinträge auf das neue Wurzeldateisystem richten
reset-step-prove = prüfen, dass sich jede verschlüsselte Partition öffnen lässt
reset-step-esp-log = Zurücksetzen auf der EFI-Systempartition vermerken
reset-step-logged = auf der EFI-Systempartition vermerkt: { $line }
reset-step-requested = angefordert: { $variable } = { $value }
reset-step-restart = der nächste Start löscht Zustand und Benutzerdaten; starten Sie jetzt neu, um es auszuführen
