# imprints Ersteinrichtung, Deutsch.
# Jede Nachricht hier muss auch in firstboot.en.ftl stehen (ein Test prüft das).

## Rahmen, Hilfezeile, Frage vor dem Beenden

fb-flow = Ersteinrichtung
fb-page-language = Sprache
fb-page-keyboard = Tastatur
fb-page-timezone = Zeitzone
fb-page-hostname = Rechnername
fb-page-root = Root-Passwort
fb-page-user = Erster Benutzer
fb-page-summary = Zusammenfassung
fb-page-apply = Einrichtung
fb-page-done = Fertig
fb-page-failed = Fehlgeschlagen
fb-key-ctrl-c = Strg-C
fb-key-space = Leertaste
fb-key-ctrl-u = Strg-U
fb-help-quit = beenden
fb-help-back = zurück
fb-help-choose = auswählen
fb-help-continue = weiter
fb-help-move = wechseln
fb-help-edit = tippen
fb-help-clear = leeren
fb-help-tick = an- oder abwählen
fb-help-type-password = Passwort tippen
fb-help-type-to-search = suchen
fb-help-type-to-try = ausprobieren
fb-help-to-try = zum Tippfeld
fb-help-to-list = zur Liste
fb-help-region-city = Regionen oder Städte
fb-help-apply = übernehmen
fb-help-login = weiter zur Anmeldung
fb-help-to-summary = zurück zur Zusammenfassung
fb-quit-title = Einrichtung beenden?
fb-quit-body = Es wurde noch nichts geändert. Möchten Sie die Einrichtung beenden?
fb-quit-body-applying = Die Einstellungen werden gerade übernommen. Wenn Sie jetzt beenden, sind manche gesetzt und andere nicht. Trotzdem beenden?
fb-quit-body-done = Alles wurde übernommen. Möchten Sie beenden?
fb-quit-body-failed = Nicht alles konnte übernommen werden. Trotzdem beenden?
fb-quit-keys = j = ja, beenden   n = nein, bleiben
fb-error = Fehler: { $reason }
fb-char-space = ein Leerzeichen
fb-search = Suche:
fb-count = { $shown } von { $all }
fb-no-match = Nichts passt. Ändern Sie die Suche mit der Rücktaste.

## Sprache

fb-language-intro = Welche Sprache soll dieses System verwenden?
fb-language-hint = Der Text wechselt, sobald Sie die Auswahl bewegen.
fb-language-no-locale = auf diesem System nicht installiert
fb-language-chosen = Die Systemsprache wird { $locale }.
fb-language-missing = Dieses System hat keine Locale für diese Sprache; die Systemsprache bleibt, wie sie ist. Diese Einrichtung spricht sie trotzdem.

## Tastatur

fb-keyboard-intro = Wählen Sie Ihre Tastaturbelegung. Sie gilt sofort auf diesem Bildschirm und von nun an auf den Konsolen dieses Systems.
fb-keyboard-chosen = Ausgewählt: { $keymap }
fb-keyboard-try = Hier ausprobieren:
fb-keyboard-none = Dieses System kennt keine Tastaturbelegungen, deshalb bleibt die Belegung, wie sie ist. Weiter mit Enter.
fb-keyboard-tip = Tippen Sie zum Suchen, zum Beispiel „de“ für deutsche Belegungen. Mit Tab probieren Sie die Belegung aus, etwa mit z, y oder @.

## Zeitzone

fb-timezone-regions = Region
fb-timezone-cities = Stadt
fb-timezone-chosen = Zeitzone: { $zone }
fb-timezone-none = Dieses System kennt keine Zeitzonen, deshalb bleibt die Zeitzone, wie sie ist. Weiter mit Enter.

## Rechnername

fb-hostname-intro = Der Rechnername ist der Name dieses Computers im Netzwerk und in der Eingabeaufforderung. Behalten Sie den Vorschlag oder tippen Sie einen anderen.
fb-hostname-suggested = Vorschlag für dieses Gerät: { $name }
fb-hostname-label = Rechnername:
fb-hostname-ok = Dieser Rechnername ist gültig.
fb-hostname-rules = Erlaubt: Buchstaben a-z und A-Z, Ziffern, „-“ und „_“; Teile durch Punkte getrennt, wie in „kiosk-7.example.org“; höchstens { $max } Zeichen. Ein Teil darf nicht mit „-“ beginnen oder enden.
fb-hostname-empty = Tippen Sie einen Rechnernamen.
fb-hostname-bad-char = „{ $char }“ ist in einem Rechnernamen nicht erlaubt.
fb-hostname-too-long = Der Rechnername hat { $len } Zeichen; erlaubt sind höchstens { $max }.
fb-hostname-empty-label = Ein Punkt darf weder am Anfang noch am Ende stehen, und nie zwei Punkte hintereinander.
fb-hostname-hyphen = Der Teil „{ $label }“ beginnt oder endet mit „-“.

## Passwörter

fb-password-label = Passwort:
fb-repeat-label = Wiederholen:
fb-password-empty = Tippen Sie ein Passwort.
fb-password-mismatch = Die beiden Passwörter sind verschieden. Tippen Sie zweimal dasselbe Passwort.
fb-password-match = Die beiden Passwörter stimmen überein.
fb-strength = Stärke: { $bar } { $word } ({ $len } Zeichen, { $kinds ->
        [one] 1 Zeichenart
       *[other] { $kinds } Zeichenarten
    })
fb-strength-weak = schwach
fb-strength-fair = mittel
fb-strength-good = gut
fb-strength-strong = stark

## Root-Passwort

fb-root-intro = Das Konto „root“ darf auf diesem System alles. Geben Sie ihm ein Passwort, oder sperren Sie es und lassen Sie den ersten Benutzer das System verwalten.
fb-root-set = Ein Root-Passwort setzen
fb-root-lock = Root sperren: kein Root-Passwort
fb-root-lock-explain = Keine Anmeldung als root; Administratoren nutzen ihr eigenes Passwort.
fb-root-locked-note = Root wird gesperrt. Machen Sie den ersten Benutzer auf der nächsten Seite zum Administrator, sonst kann niemand das System ändern.

## Erster Benutzer

fb-user-intro = Legen Sie Ihr Benutzerkonto an. systemd-homed verwaltet sein Home-Verzeichnis, verschlüsselt, wo das System es kann.
fb-user-intro-classic = Legen Sie Ihr Benutzerkonto an.
fb-user-no-homed = systemd-homed läuft auf diesem System nicht, deshalb kann der Benutzer nicht darüber angelegt werden.
fb-user-classic = Stattdessen einen klassischen Benutzer in /etc/passwd anlegen
fb-user-none = Es wird kein Benutzer angelegt. Wählen Sie das Kästchen oben an, um einen anzulegen.
fb-user-name-label = Benutzername:
fb-real-name-label = Voller Name:
fb-user-admin = Administrator
fb-user-admin-explain = Mitglied von „wheel“: darf das System mit dem eigenen Passwort ändern
fb-user-name-empty = Tippen Sie einen Benutzernamen.
fb-user-name-too-long = Der Benutzername hat { $len } Zeichen; erlaubt sind höchstens { $max }.
fb-user-name-uppercase = Benutzernamen sind kleingeschrieben: „{ $char }“ ist nicht erlaubt.
fb-user-name-bad-first = Ein Benutzername muss mit einem Buchstaben a-z oder „_“ beginnen, nicht mit „{ $char }“.
fb-user-name-bad-char = „{ $char }“ ist in einem Benutzernamen nicht erlaubt: nutzen Sie a-z, Ziffern, „-“ und „_“.
fb-user-name-reserved = „{ $name }“ ist für das System reserviert. Wählen Sie einen anderen Namen.
fb-real-name-colon = Der volle Name darf kein „:“ enthalten.
fb-real-name-too-long = Der volle Name hat { $len } Zeichen; erlaubt sind höchstens { $max }.

## Zusammenfassung

fb-summary-intro = Prüfen Sie Ihre Antworten. Mit Enter werden sie übernommen, mit Esc gehen Sie zurück, um eine zu ändern.
fb-from-credentials = aus Credentials
fb-summary-missing = (nicht beantwortet)
fb-summary-unchanged = unverändert (das System kennt keine)
fb-summary-root = Root
fb-summary-root-locked = gesperrt: kein Root-Passwort
fb-summary-password-set = gesetzt (verborgen)
fb-summary-user = Benutzer
fb-summary-user-password = Benutzerpasswort
fb-summary-admin = Administrator
fb-summary-standard = normaler Benutzer
fb-summary-homed = über systemd-homed
fb-summary-classic = klassischer Benutzer in /etc/passwd
fb-summary-no-user = keiner
fb-summary-lockout = Root ist gesperrt und es wird kein Benutzer angelegt, also könnte sich niemand anmelden. Gehen Sie mit Esc zurück und setzen Sie ein Root-Passwort oder legen Sie einen Benutzer an.
fb-summary-no-admin = Root ist gesperrt und der Benutzer ist kein Administrator: niemand wird das System ändern können.
fb-summary-credentials-note = Antworten „aus Credentials“ wurden diesem System vorab mitgegeben und werden hier nicht erfragt.

## Übernehmen

fb-apply-intro = Die Einstellungen werden übernommen. Das dauert einen Moment.
fb-done-intro = Dieses System ist eingerichtet.
fb-done-applied = Was getan wurde:
fb-done-nothing = Es musste nichts geändert werden.
fb-done-next = Drücken Sie Enter, um zur Anmeldung weiterzugehen.
fb-failed-intro = Nicht alles konnte eingerichtet werden.
fb-failed-next = Mit Enter oder Esc geht es zurück zur Zusammenfassung; ändern Sie eine Antwort und versuchen Sie es erneut.

## Anwenden: jeder Schritt (der Name der Einstellung füllt { $what })

fb-setting-locale = Sprache
fb-setting-keymap = Tastaturbelegung
fb-setting-timezone = Zeitzone
fb-setting-hostname = Rechnername
fb-setting-machine-id = Maschinen-ID
fb-setting-root-account = Konto von root
fb-setting-root-password = Passwort von root
fb-step-written = { $what } in { $file } gespeichert
fb-step-via = { $what } über { $daemon } gesetzt
fb-step-kept = { $what } beibehalten ({ $file } war schon gesetzt)
fb-step-user-classic = Benutzer { $name } in /etc/passwd angelegt
fb-step-user-homed = Benutzer { $name } über systemd-homed angelegt (Speicher: { $storage })
