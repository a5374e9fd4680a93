"""CRM exports: HubSpot, Salesforce and Dynamics 365 contacts, companies, tickets (cases) and notes.

Pass every file of the export (CSV or XLSX, one object per file, in any order); each file's object
is told from its headers:

=========  ===================================================  ===============================
object     HubSpot / Salesforce (API or report labels) /        becomes
           Dynamics (Excel labels or Web API names)
=========  ===================================================  ===============================
notes      Note body / Body (Note) / Description, notetext      messages (channel ``crm_note``)
tickets    Ticket ID / CaseNumber / Case Number, incidentid     ``ticket_opened`` and
                                                                ``ticket_resolved`` events
companies  Company name / Account (Name + Industry or           a contact's segment, owner and
           AnnualRevenue) / Account Name                        value when its own are empty
contacts   Record ID + Email / Id + Email / Contact + Email     the customers table
=========  ===================================================  ===============================

The customer id is the contact's e-mail (pseudonymised), else its phone, else the CRM's record id;
tickets and notes find their contact by record id, e-mail or full name (``Associated Contact``,
``ContactId``/``ParentId``, ``Customer``/``Regarding``). ``value`` (lifetime value, total revenue or
annual revenue) gives the value tier by rank when no tier column exists (the top 5 % ``vip``, the
next 15 % ``high``, the next 40 % ``medium``, the rest ``low``); ``owner`` is kept.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from analyzer.importers.base import Draft, ImportOptions
from analyzer.importers.common import Record, find_column, html_to_text, text_of

__all__ = ["import_dynamics", "import_hubspot", "import_salesforce"]

F: dict[str, tuple[str, ...]] = {
    "contact_id": ("Record ID", "Contact ID", "Id", "(Do Not Modify) Contact", "contactid", "ID de registro"),
    "email": ("Email", "E-mail", "Email Address", "emailaddress1", "Correo", "Correo electrónico"),
    "phone": ("Phone Number", "Phone", "Mobile Phone", "MobilePhone", "Business Phone", "telephone1",
              "Teléfono", "Número de teléfono"),
    "name": ("Full Name", "Name", "fullname", "Nombre completo"),
    "first": ("First Name", "FirstName", "Nombre"),
    "last": ("Last Name", "LastName", "Apellidos"),
    "owner": ("Contact owner", "Owner", "OwnerId", "Owner Name", "Contact Owner", "Propietario del contacto",
              "Propietario", "_ownerid_value"),
    "segment": ("Segment", "Lifecycle Stage", "Customer Type", "Relationship Type", "Industry", "Type",
                "Etapa del ciclo de vida", "Segmento", "Sector"),
    "value": ("Lifetime value", "Total revenue", "Annual Revenue", "AnnualRevenue", "revenue", "Customer value",
              "Valor", "Ingresos totales", "Ingresos anuales"),
    "tier": ("Value tier", "value_tier", "Tier"),
    # Not marketing unsubscriptions (HasOptedOutOfEmail, donotemail): only an objection to profiling.
    "opt_out": ("Opt out", "opt_out", "Do not profile", "Objected to profiling", "No perfilar"),
    "account": ("AccountId", "Account ID", "Associated Company ID", "Company Name", "Account Name",
                "parentcustomerid", "_parentcustomerid_value", "Associated Company"),
    "account_id": ("Id", "Account ID", "Record ID", "(Do Not Modify) Account", "accountid", "Company ID"),
    "account_name": ("Account Name", "Company name", "Name", "name"),
    "ticket_id": ("Ticket ID", "CaseNumber", "Case Number", "(Do Not Modify) Case", "incidentid", "ticketnumber",
                  "ID del ticket"),
    "ticket_contact": ("Associated Contact IDs", "Associated Contact", "ContactId", "Contact ID", "Customer",
                       "_customerid_value", "SuppliedEmail", "Contact Email", "Contacto asociado"),
    "created": ("Create date", "CreatedDate", "Created On", "createdon", "Created Date", "Activity date",
                "Fecha de creación", "Date"),
    "closed": ("Close date", "ClosedDate", "Resolved On", "Date/Time Closed", "Fecha de cierre"),
    "status": ("Ticket status", "Status", "statecode", "Status Reason", "Estado del ticket", "Estado"),
    "modified": ("Last modified date", "LastModifiedDate", "Modified On", "modifiedon"),
    "note_body": ("Note body", "Body", "notetext", "Description", "Nota", "Cuerpo de la nota"),
    "note_title": ("Title", "Subject", "subject"),
    "note_parent": ("Associated Contact IDs", "Associated Contact", "ParentId", "Regarding", "_objectid_value",
                    "Contact ID", "Contacto asociado"),
}
_CLOSED = {"closed", "resolved", "1", "true", "cerrado", "resuelto", "cancelled", "2"}
_EMAIL_IN = re.compile(r"[^\s@()<>;,]+@[^\s@()<>;,]+\.[a-z]{2,}", re.I)


def _col(columns: list[str], field: str) -> str | None:
    return find_column(columns, *F[field])


def _kind(columns: list[str]) -> str:
    if _col(columns, "ticket_id"):
        return "tickets"
    if find_column(columns, "Note body", "notetext", "Body (Note)", "Cuerpo de la nota") or (
            _col(columns, "note_parent") and find_column(columns, "Body", "Description")):
        return "notes"
    has_contact = (_col(columns, "email") or _col(columns, "phone")
                   or find_column(columns, "(Do Not Modify) Contact", "contactid"))
    if not has_contact and _col(columns, "account_name"):
        return "companies"
    return "contacts"


class _Contacts:
    """Contacts by every handle a ticket or note may use (record id, e-mail, full name)."""

    def __init__(self) -> None:
        self.by_ref: dict[str, str] = {}

    def add(self, key: str, *refs: str) -> None:
        for r in refs:
            if r:
                self.by_ref.setdefault(r.casefold(), key)

    def find(self, ref: Any) -> str:
        text = text_of(ref)
        for part in re.split(r"[;,]\s*", text) if text else []:
            hit = self.by_ref.get(part.strip().casefold())
            if hit:
                return hit
        email = _EMAIL_IN.search(text)
        if email:
            return self.by_ref.get(email.group(0).casefold(), email.group(0))
        name = re.sub(r"\s*\(.*\)\s*$", "", text).strip()  # "Ana García (ana@...)" or a bare name
        return self.by_ref.get(name.casefold(), text.split(";")[0].strip())


def _v(rec: Record, cols: dict[str, str | None], field: str) -> Any:
    col = cols.get(field)
    return rec.values.get(col) if col else None


def _read(source: str, paths: list[Path], options: ImportOptions) -> Draft:
    draft = Draft(source)
    files: dict[str, list[tuple[Path, list[Record], dict[str, str | None]]]] = {
        "companies": [], "contacts": [], "tickets": [], "notes": []}
    for p in paths:
        recs = options.read(p)
        columns = list(recs[0].values) if recs and recs[0].values else []
        kind = _kind(columns)
        files[kind].append((p, recs, {f: _col(columns, f) for f in F}))
        draft.files.append(p.name)
        draft.counts[f"{kind}_files"] += 1
    accounts: dict[str, dict[str, Any]] = {}
    for _, recs, cols in files["companies"]:
        for rec in recs:
            info = {"segment": _v(rec, cols, "segment"), "value": _v(rec, cols, "value"),
                    "owner": _v(rec, cols, "owner")}
            for ref in (_v(rec, cols, "account_id"), _v(rec, cols, "account_name")):
                if text_of(ref):
                    accounts[text_of(ref).casefold()] = info
    contacts = _Contacts()
    for _, recs, cols in files["contacts"]:
        for rec in draft.readable(recs, "customers"):
            cid = text_of(_v(rec, cols, "contact_id"))
            key = text_of(_v(rec, cols, "email")) or text_of(_v(rec, cols, "phone")) or cid
            name = text_of(_v(rec, cols, "name")) or " ".join(
                x for x in (text_of(_v(rec, cols, "first")), text_of(_v(rec, cols, "last"))) if x)
            contacts.add(key, cid, key, name)
            acct = accounts.get(text_of(_v(rec, cols, "account")).casefold(), {})
            draft.customer(rec.pos, customer_id=key, record_id=cid,
                           segment=_v(rec, cols, "segment") or acct.get("segment"),
                           value_tier=_v(rec, cols, "tier"), opt_out=_v(rec, cols, "opt_out"),
                           owner=_v(rec, cols, "owner") or acct.get("owner"),
                           value=_v(rec, cols, "value") or acct.get("value"))
    for _, recs, cols in files["tickets"]:
        for rec in draft.readable(recs, "events"):
            tid = text_of(_v(rec, cols, "ticket_id"))
            customer = contacts.find(_v(rec, cols, "ticket_contact"))
            draft.event(rec.pos, customer_id=customer, timestamp=_v(rec, cols, "created"), type="ticket_opened",
                        value=tid, channel="crm", event_id=f"{source}:{tid}:opened", record_id=tid)
            closed = _v(rec, cols, "closed")
            if not text_of(closed) and text_of(_v(rec, cols, "status")).lower() in _CLOSED:
                closed = _v(rec, cols, "modified")
            if text_of(closed):
                draft.event(rec.pos, customer_id=customer, timestamp=closed, type="ticket_resolved", value=tid,
                            channel="crm", event_id=f"{source}:{tid}:resolved", record_id=tid)
            draft.counts["tickets"] += 1
    for _, recs, cols in files["notes"]:
        for rec in draft.readable(recs, "messages"):
            body = html_to_text(_v(rec, cols, "note_body"))
            title = html_to_text(_v(rec, cols, "note_title")) if cols.get("note_title") != cols.get("note_body") else ""
            draft.message(rec.pos, customer_id=contacts.find(_v(rec, cols, "note_parent")),
                          timestamp=_v(rec, cols, "created"), text="\n".join(x for x in (title, body) if x),
                          channel="crm_note", record_id=_v(rec, cols, "contact_id"))
            draft.counts["notes"] += 1
    return draft


def import_hubspot(paths: list[Path], options: ImportOptions) -> Draft:
    return _read("hubspot", paths, options)


def import_salesforce(paths: list[Path], options: ImportOptions) -> Draft:
    return _read("salesforce", paths, options)


def import_dynamics(paths: list[Path], options: ImportOptions) -> Draft:
    return _read("dynamics", paths, options)
