"""Texts of the accessibility statement and its feedback form, German first with English (merged into web.i18n.TEXTS)."""

from __future__ import annotations

A11Y_TEXTS: dict[str, dict[str, str]] = {
    "a11y_footer_label": {"de": "Service-Links", "en": "Service links"},
    "a11y_link": {"de": "Erklärung zur Barrierefreiheit", "en": "Accessibility statement"},
    "a11y_heading": {"de": "Erklärung zur Barrierefreiheit", "en": "Accessibility statement"},
    "a11y_intro": {
        "de": "{office} ist bemüht, dieses Angebot im Einklang mit den Vorschriften zur Barrierefreiheit öffentlicher "
              "Stellen barrierefrei zugänglich zu machen: dem Behindertengleichstellungsgesetz und der "
              "Barrierefreie-Informationstechnik-Verordnung (BITV 2.0) sowie den Gesetzen und Verordnungen der "
              "Länder, die die Richtlinie (EU) 2016/2102 umsetzen.",
        "en": "{office} is committed to making this service accessible in accordance with the accessibility rules "
              "for public bodies: the German Disability Equality Act and the Accessible Information Technology "
              "Ordinance (BITV 2.0), and the laws and ordinances of the federal states that implement "
              "Directive (EU) 2016/2102.",
    },
    "a11y_scope": {
        "de": "Diese Erklärung gilt für die Seiten dieses Dienstes: die Suche nach Flurstücken mit Karte und "
              "Vorschau, die Bestellung von Auszügen aus der Liegenschaftskarte, die Seiten zum Stand einer "
              "Bestellung und die Prüfseite für ausgestellte Auszüge. Wenn diese Seiten in das Online-Formular "
              "einer Kommune eingebettet sind, gilt für das Formular selbst dessen eigene Erklärung.",
        "en": "This statement applies to the pages of this service: the parcel search with its map and preview, "
              "ordering extracts of the cadastral map, the pages showing the state of an order, and the page that "
              "verifies issued extracts. Where these pages are embedded in a municipality's online form, the form "
              "itself has its own statement.",
    },
    "a11y_status_heading": {"de": "Stand der Vereinbarkeit mit den Anforderungen",
                            "en": "Compliance status"},
    "a11y_status": {
        "de": "Dieses Angebot ist wegen der folgenden Einschränkungen teilweise mit den Anforderungen der BITV 2.0 "
              "(WCAG 2.1 Stufe AA, EN 301 549) vereinbar.",
        "en": "This service is partially compliant with the requirements of BITV 2.0 (WCAG 2.1 level AA, "
              "EN 301 549) because of the limitations listed below.",
    },
    "a11y_limits_heading": {"de": "Nicht barrierefreie Inhalte", "en": "Content that is not accessible"},
    "a11y_limit_map": {
        "de": "Die Karte – der Kartenausschnitt zum Verschieben und Zoomen, die Vorschau und die Karte im Auszug – "
              "ist ein Bild der amtlichen Liegenschaftskarte. Was darauf zu sehen ist (Flurstücksgrenzen, Gebäude, "
              "Nummern, Straßennamen), können Screenreader nicht vorlesen. Als Alternative lässt sich jedes "
              "Flurstück über Adresse oder Flurstücksnummer suchen und auswählen; die Angaben zum Flurstück "
              "(Gemarkung, Flur, Flurstück, Fläche, Lage) sowie Maßstab, Papierformat und Ausrichtung stehen als "
              "Text auf der Seite, die Vorschau hat einen Alternativtext mit Flurstück und Maßstab, und den "
              "Druckbereich verschieben Sie auch mit Schaltflächen statt mit der Maus. Auf Wunsch beschreiben wir "
              "Ihnen den Karteninhalt (Kontakt unten).",
        "en": "The map – the map you can pan and zoom, the preview and the map in the extract – is an image of the "
              "official cadastral map. Screen readers cannot read out what it shows (parcel boundaries, buildings, "
              "numbers, street names). As an alternative, every parcel can be found and chosen by address or "
              "parcel number; the parcel's details (Gemarkung, Flur, parcel, area, location) and the scale, paper "
              "size and orientation are text on the page, the preview has a text alternative naming the parcel "
              "and scale, and the print area can be moved with buttons instead of the mouse. On request we "
              "describe the map's content to you (contact below).",
    },
    "a11y_limit_contrast": {
        "de": "Farben und Linienstärken der Karte folgen dem amtlichen Signaturenkatalog der Liegenschaftskarte. "
              "Nicht alle Linien und Beschriftungen erreichen das Kontrastverhältnis von 3:1 für Grafiken "
              "(WCAG-Kriterium 1.4.11). Das gewählte Flurstück ist nicht nur farbig umrandet, sondern auch "
              "schraffiert; die Karte lässt sich vergrößern.",
        "en": "The colours and line widths of the map follow the official symbol catalogue of the cadastral map. "
              "Not all lines and labels reach the contrast ratio of 3:1 for graphics (WCAG criterion 1.4.11). "
              "The chosen parcel is not only outlined in colour but also hatched; the map can be zoomed.",
    },
    "a11y_limit_pdf": {
        "de": "Der Auszug aus der Liegenschaftskarte ist eine PDF-Datei zum maßstabsgetreuen Ausdrucken. Sie ist "
              "mit Tags versehen, ihre Angaben (Gemarkung, Flur, Flurstück, Maßstab, Bestellnummer, Prüfcode, "
              "ausstellende Stelle) sind Text, und das Kartenbild hat einen Alternativtext mit Flurstück und "
              "Maßstab. Was die Karte selbst zeigt, ist für Screenreader aber nicht zugänglich, und die Datei ist "
              "nicht als barrierefreies PDF (PDF/UA) geprüft. Auf Wunsch senden wir Ihnen den Inhalt des Auszugs "
              "in einer anderen Form.",
        "en": "The extract of the cadastral map is a PDF file for printing at true scale. It is tagged, its details "
              "(Gemarkung, Flur, parcel, scale, order number, verification code, issuing office) are text, and the "
              "map image has a text alternative naming the parcel and scale. What the map itself shows is not "
              "accessible to screen readers, though, and the file has not been checked as an accessible PDF "
              "(PDF/UA). On request we send you the content of the extract in another form.",
    },
    "a11y_limit_payment": {
        "de": "Die Bezahlung geschieht auf den Seiten des Bezahldienstes. Sie gehören nicht zu diesem Angebot; "
              "für ihre Barrierefreiheit ist der Bezahldienst verantwortlich.",
        "en": "Payment takes place on the pages of the payment service. They are not part of this service; the "
              "payment service is responsible for their accessibility.",
    },
    "a11y_made_heading": {"de": "Erstellung dieser Erklärung", "en": "Preparation of this statement"},
    "a11y_made_self": {
        "de": "Diese Erklärung wurde am {date} erstellt bzw. zuletzt überprüft. Grundlage ist eine Selbstbewertung: "
              "automatische Prüfungen jeder Seite mit axe-core (WCAG 2.1 A und AA), die Darstellung bei 320 Pixel "
              "Breite und bei 200 % Textgröße sowie die Bedienung mit der Tastatur.",
        "en": "This statement was prepared or last reviewed on {date}. It is based on a self-assessment: automated "
              "checks of every page with axe-core (WCAG 2.1 A and AA), the display at 320 pixels wide and at 200 % "
              "text size, and keyboard operation.",
    },
    "a11y_made_third_party": {
        "de": "Diese Erklärung wurde am {date} erstellt bzw. zuletzt überprüft. Grundlage ist eine Prüfung durch Dritte.",
        "en": "This statement was prepared or last reviewed on {date}. It is based on an evaluation by a third party.",
    },
    "a11y_contact_heading": {"de": "Barrieren melden: Kontakt", "en": "Reporting barriers: contact"},
    "a11y_contact_intro": {
        "de": "Sind Ihnen Mängel beim barrierefreien Zugang aufgefallen, oder benötigen Sie Inhalte in einer anderen "
              "Form? Dann schreiben Sie uns über das Formular unten oder wenden Sie sich an:",
        "en": "Have you noticed barriers to access, or do you need content in another form? Write to us with the "
              "form below or contact:",
    },
    "a11y_contact_office": {"de": "Stelle", "en": "Office"},
    "a11y_contact_email": {"de": "E-Mail", "en": "E-mail"},
    "a11y_contact_phone": {"de": "Telefon", "en": "Phone"},
    "a11y_enforcement_heading": {"de": "Durchsetzungsverfahren", "en": "Enforcement procedure"},
    "a11y_enforcement": {
        "de": "Wenn Sie auf Ihre Rückmeldung keine oder keine zufriedenstellende Antwort erhalten haben, können Sie "
              "sich an die zuständige Stelle für das Schlichtungs- bzw. Ombudsverfahren wenden:",
        "en": "If you receive no answer, or no satisfactory answer, to your feedback, you can turn to the body "
              "responsible for the conciliation (ombudsman) procedure:",
    },
    "a11y_enforcement_website": {"de": "Website", "en": "Website"},
    "a11y_form_heading": {"de": "Rückmeldung geben", "en": "Give feedback"},
    "a11y_form_intro": {
        "de": "Pflichtfeld ist nur die Beschreibung. Ihre Angaben nutzen wir nur, um Ihre Rückmeldung zu bearbeiten; "
              "{days} Tage nach der Antwort werden sie gelöscht.",
        "en": "Only the description is required. We use your details only to deal with your feedback; they are "
              "deleted {days} days after our answer.",
    },
    "a11y_form_unavailable": {
        "de": "Das Formular steht hier nicht zur Verfügung; bitte schreiben Sie uns an die oben genannte E-Mail-Adresse.",
        "en": "The form is not available here; please write to the e-mail address above.",
    },
    "a11y_field_message": {"de": "Was ist nicht barrierefrei, oder welche Information benötigen Sie?",
                           "en": "What is not accessible, or what information do you need?"},
    "a11y_field_message_hint": {"de": "Höchstens {n} Zeichen.", "en": "At most {n} characters."},
    "a11y_field_page": {"de": "Seite, die das Problem betrifft", "en": "Page concerned"},
    "a11y_field_page_hint": {
        "de": "Die Adresse der Seite, beginnend mit https:// oder /. Eingetragen ist die Seite, von der Sie kamen.",
        "en": "The page's address, starting with https:// or /. The page you came from is filled in.",
    },
    "a11y_field_name": {"de": "Ihr Name", "en": "Your name"},
    "a11y_field_email": {"de": "Ihre E-Mail-Adresse", "en": "Your e-mail address"},
    "a11y_field_email_hint": {"de": "Nur wenn Sie eine Antwort wünschen.", "en": "Only if you would like an answer."},
    "a11y_send": {"de": "Rückmeldung senden", "en": "Send feedback"},
    "a11y_form_expired": {
        "de": "Das Formular war zu lange geöffnet oder ist ungültig. Ihre Angaben sind erhalten; bitte senden Sie es "
              "erneut.",
        "en": "The form was open too long or is not valid. Your entries are kept; please send it again.",
    },
    "a11y_foreign_origin": {"de": "Die Anfrage kommt von einer fremden Seite.",
                            "en": "The request comes from another site."},
    "a11y_thanks_heading": {"de": "Vielen Dank für Ihre Rückmeldung", "en": "Thank you for your feedback"},
    "a11y_thanks": {
        "de": "Ihre Rückmeldung ist unter der Nummer {number} eingegangen und an {office} weitergeleitet.",
        "en": "Your feedback has been received under number {number} and passed on to {office}.",
    },
    "a11y_thanks_answer": {"de": "Wenn Sie eine E-Mail-Adresse angegeben haben, antworten wir Ihnen dorthin.",
                           "en": "If you gave an e-mail address, we will answer you there."},
    "a11y_back_to_statement": {"de": "Zurück zur Erklärung zur Barrierefreiheit",
                               "en": "Back to the accessibility statement"},
}
