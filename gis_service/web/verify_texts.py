"""Texts of the public verification pages, German first with English (merged into web.i18n.TEXTS)."""

from __future__ import annotations

VERIFY_TEXTS: dict[str, dict[str, str]] = {
    "verify_title": {"de": "Auszug prüfen", "en": "Check an extract"},
    "verify_intro": {
        "de": "Jeder amtliche Auszug aus der Liegenschaftskarte trägt im Schriftfeld einen Prüfcode und einen QR-Code. "
              "Hier sehen Sie, was zu einem Prüfcode ausgestellt wurde, und können prüfen, ob eine PDF-Datei genau "
              "dieser Auszug ist.",
        "en": "Every official extract of the cadastral map carries a verification code and a QR code in its title "
              "block. Here you see what was issued under a code, and you can check whether a PDF file is exactly "
              "that extract."},
    "verify_code_label": {"de": "Prüfcode", "en": "Verification code"},
    "verify_code_hint": {"de": "15 Zeichen, wie auf dem Auszug gedruckt, z. B. 7K3QD-M9XRT-2BHVW; Groß- und "
                                "Kleinschreibung und Bindestriche sind egal.",
                         "en": "15 characters as printed on the extract, e.g. 7K3QD-M9XRT-2BHVW; upper or lower case "
                               "and dashes do not matter."},
    "verify_code_button": {"de": "Prüfcode nachschlagen", "en": "Look up the code"},
    "verify_code_missing": {"de": "Bitte geben Sie den Prüfcode ein.", "en": "Please enter the verification code."},
    "verify_code_malformed": {
        "de": "Das ist kein gültiger Prüfcode. Bitte vergleichen Sie die Eingabe Zeichen für Zeichen mit dem Auszug.",
        "en": "This is not a valid verification code. Please compare your entry with the extract character by "
              "character."},
    "verify_unknown_title": {"de": "Prüfcode nicht gefunden", "en": "Verification code not found"},
    "verify_unknown": {
        "de": "Zu diesem Prüfcode wurde kein Auszug ausgestellt. Bitte prüfen Sie die Eingabe; ein Auszug mit einem "
              "unbekannten Prüfcode ist nicht echt.",
        "en": "No extract was issued under this verification code. Please check your entry; an extract with an "
              "unknown verification code is not genuine."},
    "verify_record_title": {"de": "Auszug {code}", "en": "Extract {code}"},
    "verify_valid": {"de": "Gültig: Dieser Auszug wurde am {date} vom {office} ausgestellt.",
                     "en": "Valid: this extract was issued on {date} by {office}."},
    "verify_withdrawn": {"de": "Nicht mehr gültig seit {date}: {reason}",
                         "en": "No longer valid since {date}: {reason}"},
    "verify_reason_superseded": {"de": "Der Auszug wurde durch einen neu erstellten ersetzt.",
                                 "en": "The extract was replaced by a newly produced one."},
    "verify_reason_cancelled": {"de": "Die Bestellung wurde storniert.", "en": "The order was cancelled."},
    "verify_reason_rejected": {"de": "Die Bestellung wurde abgelehnt.", "en": "The order was rejected."},
    "verify_reason_refunded": {"de": "Die Bestellung wurde storniert und die Gebühr erstattet.",
                               "en": "The order was cancelled and the fee refunded."},
    "verify_facts": {"de": "Angaben zum ausgestellten Auszug", "en": "What was issued"},
    "verify_product": {"de": "Produkt", "en": "Product"},
    "verify_parcel": {"de": "Flurstück", "en": "Parcel"},
    "verify_key": {"de": "Flurstückskennzeichen", "en": "Parcel key"},
    "verify_scale": {"de": "Maßstab", "en": "Scale"},
    "verify_paper": {"de": "Papierformat", "en": "Paper"},
    "verify_currency": {"de": "Stand der Daten", "en": "Data as of"},
    "verify_issued": {"de": "Ausgestellt am", "en": "Issued on"},
    "verify_office": {"de": "Ausgestellt von", "en": "Issued by"},
    "verify_seal": {"de": "Elektronisches Siegel", "en": "Electronic seal"},
    "verify_sealed": {"de": "ja, die PDF-Datei ist mit dem Siegel des Amtes elektronisch gesiegelt; PDF-Programme mit "
                            "Signaturprüfung (z. B. Adobe Acrobat Reader) zeigen es in der Signaturleiste",
                      "en": "yes, the PDF file carries the office's electronic seal; PDF readers that check "
                            "signatures (e.g. Adobe Acrobat Reader) show it in their signature panel"},
    "verify_unsealed": {"de": "nein, ausgestellt ohne elektronisches Siegel",
                        "en": "no, issued without an electronic seal"},
    "verify_sha256": {"de": "SHA-256 der ausgestellten PDF-Datei", "en": "SHA-256 of the issued PDF file"},
    "verify_size": {"de": "Dateigröße", "en": "File size"},
    "verify_bytes": {"de": "{n} Bytes", "en": "{n} bytes"},
    "verify_file_heading": {"de": "Ist meine Datei dieser Auszug?", "en": "Is my file this extract?"},
    "verify_file_intro": {
        "de": "Wählen Sie die PDF-Datei aus oder ziehen Sie sie auf das Feld. Ihr Browser berechnet ihre Prüfsumme "
              "(SHA-256) und vergleicht sie mit der des ausgestellten Auszugs; die Datei verlässt Ihren Rechner "
              "dabei nicht. Ohne JavaScript wird sie zum Vergleich an den Server gesendet und nicht gespeichert.",
        "en": "Choose the PDF file or drop it onto the field. Your browser computes its checksum (SHA-256) and "
              "compares it with that of the issued extract; the file does not leave your computer. Without "
              "JavaScript it is sent to the server for the comparison and not stored."},
    "verify_file_label": {"de": "PDF-Datei des Auszugs", "en": "PDF file of the extract"},
    "verify_file_button": {"de": "Datei prüfen", "en": "Check the file"},
    "verify_file_missing": {"de": "Bitte wählen Sie eine PDF-Datei aus.", "en": "Please choose a PDF file."},
    "verify_file_too_large": {"de": "Die Datei ist größer als {mb} MB und kann kein Auszug sein.",
                              "en": "The file is larger than {mb} MB and cannot be an extract."},
    "verify_file_working": {"de": "Die Datei wird geprüft …", "en": "Checking the file …"},
    "verify_file_match": {"de": "Die Datei „{name}“ ist genau der ausgestellte Auszug (SHA-256 stimmt überein).",
                          "en": "The file “{name}” is exactly the issued extract (the SHA-256 matches)."},
    "verify_file_match_withdrawn": {"de": "Die Datei „{name}“ ist genau dieser Auszug, der aber nicht mehr gültig ist.",
                                    "en": "The file “{name}” is exactly this extract, which is no longer valid."},
    "verify_file_mismatch": {
        "de": "Die Datei „{name}“ ist nicht der ausgestellte Auszug: Sie wurde verändert oder ist eine andere Datei "
              "(SHA-256 {sha256}).",
        "en": "The file “{name}” is not the issued extract: it was changed or is another file (SHA-256 {sha256})."},
    "verify_other_code": {"de": "Einen anderen Prüfcode nachschlagen", "en": "Look up another code"},
    "verify_privacy": {"de": "Diese Seite zeigt keine Angaben zur bestellenden Person.",
                       "en": "This page shows nothing about the person who ordered the extract."},
}
