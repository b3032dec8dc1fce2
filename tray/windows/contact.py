"""Add a contact: to the user's personal contacts, or (members of Administrators) to the
company's address book. Incoming calls then show the name."""

from __future__ import annotations

from common.i18n import tr
from tray.windows.form_window import FormWindow


class ContactWindow(FormWindow):
    name = "contact"
    title_key = "win.contact.title"
    fields = (("name", "win.contact.name", None), ("number", "win.contact.number", "win.contact.number_hint"),
              ("note", "win.contact.note", None))
    required = ("name", "number")
    save_key = "win.contact.save"

    def build(self) -> None:
        self.book = self.options.book
        super().build()
        # "Add to contacts…" after a call with an unknown number brings the number along.
        if self.options.number:
            self.vars["number"].set(self.options.number)

    def heading(self) -> str:
        return tr("win.contact.company" if self.book == "company" else "win.contact.personal")

    def path(self) -> str:
        return f"/contacts/{self.book}"

    def body(self, values: dict[str, str]) -> dict:
        return {"name": values["name"].strip(), "number": values["number"].strip(), "note": values["note"].strip()}

    def created(self, body: dict) -> None:
        self.show_field_problems({})
        self.say(self.status, tr("win.contact.saved", name=body["name"], number=body["number"]), "Ok")
        for var in self.vars.values():
            var.set("")
