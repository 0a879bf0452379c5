"""Texts of the order process, German first with English: the citizen pages (merged into web.i18n.TEXTS), mail notes, messages."""

from __future__ import annotations

ORDER_TEXTS: dict[str, dict[str, str]] = {
    "order_start": {"de": "Auszug bestellen", "en": "Order an extract"},
    "order_to_form": {"de": "Zurück zum Antragsformular (Auswahl übernehmen)", "en": "Back to the application form (take the selection along)"},
    "order_steps_label": {"de": "Bestellschritte", "en": "Order steps"},
    "order_step_product": {"de": "Produkt", "en": "Product"},
    "order_step_options": {"de": "Optionen und Gebühr", "en": "Options and fee"},
    "order_step_contact": {"de": "Kontaktdaten", "en": "Contact details"},
    "order_step_summary": {"de": "Übersicht", "en": "Summary"},
    "order_step_payment": {"de": "Bezahlung", "en": "Payment"},
    "order_error_summary": {"de": "Bitte korrigieren Sie folgende Angaben", "en": "Please correct the following"},
    "order_error_prefix": {"de": "Fehler:", "en": "Error:"},
    "order_error_title_prefix": {"de": "Fehler:", "en": "Error:"},
    "order_optional": {"de": "freiwillig", "en": "optional"},
    "order_yes": {"de": "ja", "en": "yes"},
    "order_no": {"de": "nein", "en": "no"},
    "order_note": {"de": "Hinweis:", "en": "Note:"},
    "order_next": {"de": "Weiter", "en": "Continue"},
    "order_product_heading": {"de": "Was möchten Sie bestellen?", "en": "What would you like to order?"},
    "order_product_legend": {"de": "Produkt wählen", "en": "Choose a product"},
    "order_product": {"de": "Produkt", "en": "Product"},
    "order_fee_from": {"de": "ab", "en": "from"},
    "order_options_heading": {"de": "Optionen und Gebühr", "en": "Options and fee"},
    "order_delivery": {"de": "Zustellung", "en": "Delivery"},
    "order_delivery_download": {"de": "PDF zum Herunterladen", "en": "PDF to download"},
    "order_delivery_download_details": {"de": "Sie erhalten einen Link per E-Mail.", "en": "You receive a link by e-mail."},
    "order_delivery_post": {"de": "Per Post", "en": "By post"},
    "order_delivery_post_details": {"de": "Auf Papier an Ihre Postanschrift.", "en": "On paper to your postal address."},
    "order_copies": {"de": "Anzahl der Ausfertigungen", "en": "Number of copies"},
    "order_copies_hint": {"de": "Jede weitere Ausfertigung kostet {fee} (nur per Post, höchstens {max}).",
                          "en": "Each further copy costs {fee} (by post only, at most {max})."},
    "order_certified": {"de": "Beglaubigte Ausfertigung", "en": "Certified copy"},
    "order_certified_short": {"de": "Beglaubigt", "en": "Certified"},
    "order_payment_method": {"de": "Bezahlung", "en": "Payment"},
    "order_payment_online": {"de": "Online bezahlen", "en": "Pay online"},
    "order_payment_online_details": {"de": "Über den Bezahldienst der Verwaltung, direkt nach der Bestellung.",
                                     "en": "Through the administration's payment service, right after ordering."},
    "order_payment_invoice": {"de": "Auf Rechnung", "en": "By invoice"},
    "order_payment_invoice_details": {"de": "Sie erhalten eine Rechnung; dafür brauchen wir Ihre Postanschrift.",
                                      "en": "You receive an invoice; we need your postal address for it."},
    "order_fee": {"de": "Gebühr", "en": "Fee"},
    "order_fee_item": {"de": "Posten", "en": "Item"},
    "order_fee_quantity": {"de": "Menge", "en": "Quantity"},
    "order_fee_amount": {"de": "Betrag", "en": "Amount"},
    "order_fee_total": {"de": "Summe", "en": "Total"},
    "order_fee_no_vat": {"de": "Verwaltungsgebühr nach der Kostenordnung; es fällt keine Umsatzsteuer an.",
                         "en": "Administrative fee by the fee regulations; no VAT is charged."},
    "order_recalculate": {"de": "Gebühr neu berechnen", "en": "Recalculate the fee"},
    "order_partial_ok": {"de": "Mir ist bewusst, dass das Flurstück bei diesem Maßstab und Papierformat nicht vollständig "
                                 "abgebildet wird. Ich möchte den gezeigten Teil.",
                         "en": "I understand that the parcel is not shown completely at this scale and paper size. I want "
                               "the part shown."},
    "order_partial_note": {"de": "Sie bestellen bewusst nur einen Teil des Flurstücks (so wie in der Vorschau).",
                           "en": "You are knowingly ordering only part of the parcel (as in the preview)."},
    "order_centre_frame": {"de": "Kartenausschnitt auf das Flurstück zentrieren", "en": "Centre the map frame on the parcel"},
    "order_move_frame": {"de": "Kartenausschnitt in der Karte verschieben", "en": "Move the map frame on the map"},
    "order_next_contact": {"de": "Weiter zu den Kontaktdaten", "en": "Continue to contact details"},
    "order_back_product": {"de": "Zurück zur Produktauswahl", "en": "Back to the choice of product"},
    "order_automatic_notice": {"de": "Der amtliche Auszug wird direkt nach der Bezahlung erstellt; Sie können ihn sofort herunterladen.",
                               "en": "The official extract is produced right after payment; you can download it at once."},
    "order_staff_only_notice": {"de": "Dieses Flurstück kann nicht automatisch ausgegeben werden (z. B. Flurbereinigungsgebiet). Das Katasteramt erstellt Ihren Auszug und sendet ihn Ihnen zu; die Gebühr bleibt gleich.",
                                "en": "This parcel cannot be issued automatically (e.g. a land consolidation area). The surveying office will produce your extract and send it to you; the fee stays the same."},
    "order_owner_notice": {"de": "Eigentümerangaben gibt es nur bei berechtigtem Interesse. Das Katasteramt prüft Ihre Begründung; wird der Antrag abgelehnt, erstatten wir die Gebühr.",
                           "en": "Owner data are given only with a legitimate interest. The surveying office reviews your statement; if the request is rejected, the fee is refunded."},
    "order_staff_notice": {"de": "Dieses Produkt erstellt das Katasteramt; Sie erhalten eine Nachricht, sobald es fertig ist.",
                           "en": "The surveying office produces this product; you will be told when it is ready."},
    "order_contact_heading": {"de": "Ihre Kontaktdaten", "en": "Your contact details"},
    "order_contact_intro": {"de": "Wir verwenden Ihre Angaben nur für diese Bestellung und löschen sie nach Abschluss gemäß der Aufbewahrungsfrist.",
                            "en": "We use your details for this order only and delete them after completion according to the retention period."},
    "order_contact_legend": {"de": "Kontakt", "en": "Contact"},
    "order_name": {"de": "Vor- und Nachname", "en": "Full name"},
    "order_email": {"de": "E-Mail-Adresse", "en": "E-mail address"},
    "order_email_hint": {"de": "An diese Adresse senden wir die Bestätigung und den Link zum Auszug.",
                         "en": "We send the confirmation and the link to the extract to this address."},
    "order_phone": {"de": "Telefon für Rückfragen", "en": "Phone for queries"},
    "order_organisation": {"de": "Firma oder Behörde", "en": "Company or authority"},
    "order_address_legend": {"de": "Postanschrift", "en": "Postal address"},
    "order_address_hint_post": {"de": "An diese Anschrift senden wir die Unterlagen.", "en": "We send the documents to this address."},
    "order_address_hint_invoice": {"de": "An diese Anschrift senden wir die Rechnung.", "en": "We send the invoice to this address."},
    "order_street": {"de": "Straße und Hausnummer", "en": "Street and number"},
    "order_postcode": {"de": "Postleitzahl", "en": "Postcode"},
    "order_city": {"de": "Ort", "en": "Town or city"},
    "order_country": {"de": "Land", "en": "Country"},
    "order_country_hint": {"de": "Zweistelliger Ländercode, z. B. DE; leer lassen für Deutschland.",
                           "en": "Two-letter country code, e.g. DE; leave empty for Germany."},
    "order_justification_legend": {"de": "Berechtigtes Interesse", "en": "Legitimate interest"},
    "order_justification": {"de": "Begründung Ihres berechtigten Interesses", "en": "Statement of your legitimate interest"},
    "order_justification_hint": {"de": "Beschreiben Sie, wozu Sie die Eigentümerangaben brauchen (z. B. Nachbar bei einer Grenzbebauung, Gläubiger mit Titel). Der bloße Wunsch, ein Grundstück zu kaufen, genügt nicht.",
                                 "en": "Describe what you need the owner data for (e.g. a neighbour in a boundary building matter, a creditor with a court order). A plain wish to buy a property is not enough."},
    "order_next_summary": {"de": "Weiter zur Übersicht", "en": "Continue to the summary"},
    "order_back_options": {"de": "Zurück zu den Optionen", "en": "Back to the options"},
    "order_summary_heading": {"de": "Übersicht Ihrer Bestellung", "en": "Summary of your order"},
    "order_what": {"de": "Bestellung", "en": "Order"},
    "order_price_changed_heading": {"de": "Die Gebühr hat sich geändert", "en": "The fee has changed"},
    "order_price_changed": {"de": "Bitte prüfen Sie die neue Gebühr und bestellen Sie dann erneut.",
                            "en": "Please check the new fee, then order again."},
    "order_commit_note_online": {"de": "Mit „zahlungspflichtig bestellen“ bestellen Sie verbindlich; die Gebühr von {amount} bezahlen Sie anschließend online.",
                                 "en": "With “order with obligation to pay” your order is binding; you then pay the fee of {amount} online."},
    "order_commit_note_invoice": {"de": "Mit „zahlungspflichtig bestellen“ bestellen Sie verbindlich; die Gebühr von {amount} bezahlen Sie auf Rechnung.",
                                  "en": "With “order with obligation to pay” your order is binding; you pay the fee of {amount} by invoice."},
    "order_commit": {"de": "zahlungspflichtig bestellen", "en": "order with obligation to pay"},
    "order_change": {"de": "Angaben ändern", "en": "Change details"},
    "order_received_heading": {"de": "Ihre Bestellung ist eingegangen", "en": "Your order has been received"},
    "order_status_heading": {"de": "Ihre Bestellung", "en": "Your order"},
    "order_number": {"de": "Bestellnummer", "en": "Order number"},
    "order_state": {"de": "Stand", "en": "Status"},
    "order_please_pay": {"de": "Bitte bezahlen Sie jetzt die Gebühr von {amount}. Erst nach der Bezahlung wird Ihre Bestellung bearbeitet.",
                         "en": "Please pay the fee of {amount} now. Your order is processed only after payment."},
    "order_payment_failed": {"de": "Die Zahlung ist fehlgeschlagen. Es wurde nichts abgebucht. Sie können es erneut versuchen oder die Bestellung stornieren.",
                             "en": "The payment failed. Nothing was charged. You can try again or cancel the order."},
    "order_payment_canceled": {"de": "Sie haben die Zahlung abgebrochen. Sie können erneut bezahlen oder die Bestellung stornieren.",
                               "en": "You cancelled the payment. You can pay again or cancel the order."},
    "order_payment_pending": {"de": "Der Bezahldienst hat die Zahlung noch nicht bestätigt. Bitte bestellen Sie nicht erneut; aktualisieren Sie diese Seite in einigen Minuten.",
                              "en": "The payment service has not confirmed the payment yet. Please do not order again; refresh this page in a few minutes."},
    "order_payment_check": {"de": "Die Zahlung wird vom Katasteramt geprüft. Bitte bestellen Sie nicht erneut.",
                            "en": "The surveying office is checking the payment. Please do not order again."},
    "order_confirm_first": {"de": "Wir haben Ihnen eine E-Mail mit einem Bestätigungslink gesandt. Bitte bestätigen "
                                  "Sie die Bestellung innerhalb von {hours} Stunden; erst dann bearbeitet das "
                                  "Katasteramt sie.",
                            "en": "We have sent you an e-mail with a confirmation link. Please confirm the order "
                                  "within {hours} hours; only then will the surveying office work on it."},
    "order_confirm_heading": {"de": "Bestellung bestätigen", "en": "Confirm the order"},
    "order_confirm_text": {"de": "Bitte bestätigen Sie, dass Sie die Bestellung {number} aufgegeben haben.",
                           "en": "Please confirm that you placed the order {number}."},
    "order_confirm_button": {"de": "Bestellung bestätigen", "en": "Confirm the order"},
    "order_confirmed": {"de": "Vielen Dank, Ihre Bestellung ist bestätigt.", "en": "Thank you, your order is confirmed."},
    "order_invoice_received": {"de": "Das Katasteramt bearbeitet Ihre Bestellung. Sie erhalten eine Rechnung und eine Nachricht, sobald sie erledigt ist.",
                               "en": "The surveying office is working on your order. You will receive an invoice and a message when it is done."},
    "order_producing": {"de": "Die Zahlung ist eingegangen. Ihr Auszug wird gerade erstellt.",
                        "en": "Payment received. Your extract is being produced."},
    "order_follows": {"de": "Die Zahlung ist eingegangen. Der Auszug konnte nicht sofort erstellt werden; das Katasteramt erstellt ihn und sendet Ihnen eine Nachricht. Sie müssen nichts weiter tun.",
                      "en": "Payment received. The extract could not be produced right away; the surveying office will produce it and send you a message. There is nothing more you need to do."},
    "order_with_staff": {"de": "Das Katasteramt bearbeitet Ihre Bestellung. Sie erhalten eine Nachricht, sobald sie erledigt ist.",
                         "en": "The surveying office is working on your order. You will be told when it is done."},
    "order_completed_text": {"de": "Ihre Bestellung ist erledigt.", "en": "Your order is completed."},
    "order_rejected_text": {"de": "Ihre Bestellung wurde abgelehnt.", "en": "Your order was rejected."},
    "order_cancelled_text": {"de": "Ihre Bestellung wurde storniert.", "en": "Your order was cancelled."},
    "order_reason": {"de": "Begründung", "en": "Reason"},
    "order_refund_text": {"de": "Die gezahlte Gebühr wird erstattet.", "en": "The fee you paid is refunded."},
    "order_documents": {"de": "Ihre Unterlagen", "en": "Your documents"},
    "order_download": {"de": "{name} herunterladen", "en": "Download {name}"},
    # The public page that proves the extract (web/verify.py); whoever receives the extract may open it.
    "order_verify_link": {"de": "Prüfcode {code}: Echtheit prüfen", "en": "Verification code {code}: check it is genuine"},
    "order_print_note": {"de": "Drucken Sie den Auszug in Originalgröße (100 %, nicht „An Seite anpassen“), damit der Maßstab stimmt.",
                         "en": "Print the extract at actual size (100 %, not “fit to page”) so that the scale is right."},
    "order_pay_now": {"de": "Jetzt bezahlen", "en": "Pay now"},
    "order_pay_again": {"de": "Bezahlen", "en": "Pay"},
    "order_refresh": {"de": "Stand aktualisieren", "en": "Refresh the status"},
    "order_format": {"de": "Format und Maßstab", "en": "Paper and scale"},
    "order_details": {"de": "Einzelheiten", "en": "Details"},
    "order_keep_link": {"de": "Über diesen persönlichen Link sehen Sie den Stand Ihrer Bestellung jederzeit (bitte nicht weitergeben):",
                        "en": "This personal link shows the status of your order at any time (please do not share it):"},
    "order_status_link": {"de": "Stand meiner Bestellung", "en": "Status of my order"},
    "order_cancel": {"de": "Bestellung stornieren", "en": "Cancel the order"},
    "order_details_changed_heading": {"de": "Ihre Angaben haben sich geändert", "en": "Your details have changed"},
    "order_details_changed": {"de": "Die Angaben wurden inzwischen geändert (zum Beispiel in einem anderen Fenster). Bitte prüfen Sie die Übersicht und bestellen Sie dann.",
                              "en": "The details were changed meanwhile (for example in another window). Please check the summary, then order."},
    "order_cancel_heading": {"de": "Möchten Sie die Bestellung wirklich stornieren?", "en": "Do you really want to cancel the order?"},
    "order_cancel_final": {"de": "Eine stornierte Bestellung kann nicht wiederhergestellt werden. Sie erhalten eine Bestätigung per E-Mail.",
                           "en": "A cancelled order cannot be restored. You will receive a confirmation by e-mail."},
    "order_cancel_unpaid": {"de": "Die Bestellung ist noch nicht bezahlt; es wird nichts abgebucht.",
                            "en": "The order has not been paid; nothing will be charged."},
    "order_cancel_late_payment": {"de": "Die Bestellung ist noch nicht bezahlt. Geht eine begonnene Zahlung doch noch ein, wird sie Ihnen erstattet.",
                                  "en": "The order has not been paid. Should a payment you started still arrive, it will be refunded to you."},
    "order_cancel_reason": {"de": "Grund der Stornierung", "en": "Reason for cancelling"},
    "order_cancel_reason_hint": {"de": "Der Grund wird mit der Bestellung gespeichert und in der Bestätigung genannt.",
                                 "en": "The reason is stored with the order and named in the confirmation."},
    "order_cancel_confirm": {"de": "Ja, Bestellung stornieren", "en": "Yes, cancel the order"},
    "order_cancel_keep": {"de": "Nein, Bestellung behalten", "en": "No, keep the order"},
}


# --- texts the order process itself writes: (German, English) -----------------------------------------
def in_language(text: tuple[str, str], lang: str) -> str:
    return text[1] if lang == "en" else text[0]


# Pieces of the e-mails that depend on the order (gis_service.orders.notifications holds the mails themselves).
MAIL_NOTES: dict[str, tuple[str, str]] = {
    "next_invoice": ("Sie erhalten eine Rechnung. Das Katasteramt bearbeitet Ihre Bestellung und benachrichtigt Sie.",
                     "You will receive an invoice. The surveying office will work on your order and tell you."),
    "note_post": ("Die Unterlagen werden Ihnen per Post zugesandt.", "The documents are sent to you by post."),
    "note_download": ("Sie können die Unterlagen hier herunterladen:", "You can download the documents here:"),
    "note_invoice": ("Die Rechnung erhalten Sie gesondert.", "You will receive the invoice separately."),
    "note_refund": ("Die bereits gezahlte Gebühr wird Ihnen erstattet.\n", "The fee you paid will be refunded.\n"),
    "reason_line": ("Grund: {reason}\n", "Reason: {reason}\n"),
}

# Why an action cannot be done now: (German, English) where a citizen may read it, German alone where only
# clerks do (the back office is German).
PRODUCT_MISSING = ("Bitte wählen Sie ein Produkt.", "Please choose a product.")
DRAFT_UNKNOWN = ("Diese Bestellung in Bearbeitung gibt es nicht, oder der Link ist nicht gültig.",
                 "There is no such order in progress, or the link is not valid.")
DRAFT_GONE = ("Diese Bestellung in Bearbeitung ist abgelaufen: Ihre Eingaben werden zum Schutz Ihrer Daten nach "
              "{hours} Stunden gelöscht. Bitte wählen Sie das Flurstück erneut aus und beginnen Sie die Bestellung neu.",
              "This order in progress has expired: to protect your data, your entries are deleted after {hours} hours. "
              "Please choose the parcel again and start the order anew.")
FORM_OUTDATED = ("Dieses Bestellformular stammt aus einer früheren Fassung der Seiten und kann nicht mehr bestellen. "
                 "Bitte wählen Sie das Flurstück erneut aus und beginnen Sie die Bestellung neu.",
                 "This order form comes from an earlier version of the pages and can no longer order. "
                 "Please choose the parcel again and start the order anew.")
ORDER_NOT_STORED = ("Die Bestellung konnte nicht gespeichert werden. Bitte versuchen Sie es erneut.",
                    "The order could not be stored. Please try again.")
PAID_BY_INVOICE = ("Diese Bestellung wird per Rechnung bezahlt.", "This order is paid by invoice.")
NOT_PAYABLE = ("Diese Bestellung ist bereits bezahlt oder abgeschlossen.", "This order is already paid or closed.")
CITIZEN_CANNOT_CANCEL_PAID = ("Eine bezahlte Bestellung kann nur das Katasteramt stornieren.",
                              "A paid order can only be cancelled by the surveying office.")
TAKE_NOT_POSSIBLE = "Übernehmen geht nur bei bezahlten, per Rechnung bestellten oder laufenden Aufträgen."
ADDRESS_NOT_CONFIRMED = "Die E-Mail-Adresse dieser Bestellung ist noch nicht bestätigt."
CONFIRMATION_EXPIRED = ("Diese Bestellung wurde nicht rechtzeitig bestätigt und ist verworfen. Bitte bestellen Sie erneut.",
                        "This order was not confirmed in time and has been discarded. Please order again.")
CONFIRMATION_INVALID = ("Dieser Bestätigungslink ist nicht gültig.", "This confirmation link is not valid.")
UNCONFIRMED_EXPIRED = "Die Bestellung wurde nicht innerhalb von {hours} Stunden über den Link in der E-Mail bestätigt."
TAKE_FIRST = "Bitte übernehmen Sie den Auftrag zuerst."
NO_MAP_FOR_PRODUCT = "Für dieses Produkt wird keine Karte erzeugt; bitte eine Datei anhängen."
PRODUCTION_FAILED = "Der Auszug konnte nicht erzeugt werden: {error}"
UPLOAD_TYPES = "Erlaubt sind PDF-, PNG-, JPEG- und TIFF-Dateien."
NOTHING_TO_DELIVER = "Bitte erzeugen Sie zuerst den Auszug oder hängen Sie eine Datei an."
REJECT_REASON_MISSING = "Bitte geben Sie eine Begründung an (mindestens 5 Zeichen)."
CANCEL_REASON_MISSING = "Bitte geben Sie einen Grund an (mindestens 5 Zeichen)."

# Stored with the payment or the order, German only: the purpose and refund reason the payment service shows,
# and why an unpaid order was cancelled.
PAYMENT_PURPOSE = "Gebühr {product} {number}"
REFUND_REASON = "Erstattung {number}"
PAYMENT_NOT_COMPLETED = "Die Zahlung wurde nicht innerhalb der Frist abgeschlossen."

# --- money to the end: cancelling a completed order with a refund, invoices (gis_service.orders.late_cancellation,
# gis_service.orders.invoices); German alone where only clerks read it.
DOCUMENTS_REVOKED_NOTE = ("Die Links zum Herunterladen der Unterlagen gelten nicht mehr; bitte verwenden Sie bereits "
                          "heruntergeladene Auszüge nicht weiter.\n",
                          "The download links of the documents are no longer valid; please do not use extracts you "
                          "have already downloaded.\n")
LATE_CANCEL_NOT_COMPLETED = "Stornieren mit Erstattung nach Abschluss geht nur bei erledigten Aufträgen."
LATE_CANCEL_NOT_ONLINE = "Nur online bezahlte Aufträge werden erstattet; eine Rechnung bitte abschreiben."
LATE_CANCEL_NOTHING_TO_REFUND = "Zu diesem Auftrag gibt es keine Zahlung, die noch erstattet werden kann."
INVOICE_AMOUNT_INVALID = "Bitte geben Sie einen Betrag in Euro an, z. B. 80,00."
INVOICE_DATE_INVALID = "Bitte geben Sie ein gültiges Datum an, nicht in der Zukunft und nicht vor dem Eingang des Auftrags."
INVOICE_PAID_BEFORE_SENT = "Das Zahldatum liegt vor dem Versand der Rechnung."
NOT_AN_INVOICE_ORDER = "Dieser Auftrag wird nicht per Rechnung bezahlt."
INVOICE_ALREADY_SENT = "Die Rechnung ist bereits als verschickt vermerkt."
INVOICE_ORDER_CLOSED = "Für einen abgelehnten oder stornierten Auftrag wird keine Rechnung verschickt."
INVOICE_NOT_SENT = "Bitte vermerken Sie zuerst den Versand der Rechnung."
INVOICE_SETTLED = "Die Rechnung ist bereits bezahlt oder abgeschrieben."
WRITE_OFF_REASON_MISSING = "Bitte geben Sie einen Grund für die Abschreibung an (mindestens 5 Zeichen)."
