"""Every importer on its sample export (datasets/sample/<source>/) and on the cases its format has:
what maps to messages, events and customers, whose words count, and why each bad row was rejected."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analyzer.importers import SOURCES, ImportOptions, Pseudonymizer, run_import
from analyzer.io import TimestampPolicy
from analyzer.schema import EVENT_TYPES, REJECTED_COLUMNS

SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "sample"
P = Pseudonymizer("test-secret-0123456789abcdef")
FILES: dict[str, list[Path]] = {
    "whatsapp": sorted((SAMPLE / "whatsapp").glob("*.txt")),
    "zendesk": [SAMPLE / "zendesk" / "tickets.json"],
    "freshdesk": [SAMPLE / "freshdesk" / "tickets_export.csv"],
    "intercom": [SAMPLE / "intercom" / "conversations.json"],
    "hubspot": sorted((SAMPLE / "hubspot").iterdir()),
    "salesforce": sorted((SAMPLE / "salesforce").iterdir()),
    "dynamics": sorted((SAMPLE / "dynamics").iterdir()),
    "google-reviews": [SAMPLE / "google-reviews" / "reviews.json"],
    "trustpilot": [SAMPLE / "trustpilot" / "reviews.csv"],
    "nps": [SAMPLE / "nps" / "encuesta_nps.csv"],
    "shopify": [SAMPLE / "shopify" / "orders_export.csv"],
    "ga4": [SAMPLE / "ga4" / "events_20250601.jsonl"],
    "profile": [SAMPLE / "profile" / "tpv_export.csv"],
}
# The one bad row each sample holds, and why it is rejected.
BAD_ROW = {"whatsapp": "unparsable_line", "zendesk": "bad_timestamp", "freshdesk": "missing_customer_id",
           "intercom": "bad_value", "hubspot": "bad_timestamp+empty_text", "salesforce": "missing_customer_id",
           "dynamics": "bad_timestamp", "google-reviews": "bad_value", "trustpilot": "bad_timestamp",
           "nps": "bad_value", "shopify": "missing_customer_id", "ga4": "bad_json", "profile": "unknown_event_type"}


def _opts(source: str, **kw: object) -> ImportOptions:
    extra: dict[str, object] = {"pseudonymizer": P}
    if source == "whatsapp":
        extra["business"] = ("Tienda Sol",)
    if source == "profile":
        extra["profile"] = SAMPLE / "profile" / "tpv_profile.yaml"
    return ImportOptions(**{**extra, **kw})  # type: ignore[arg-type]


def _run(source: str, files: list[Path] | None = None, **kw: object):  # -> ImportResult
    return run_import(source, files or FILES[source], _opts(source, **kw))


def pid(contact: str) -> str:
    return P(contact)


def test_every_source_has_a_sample_and_rejects_its_bad_row_with_a_reason() -> None:
    assert set(FILES) == set(SOURCES)
    for source in SOURCES:
        r = _run(source)
        assert list(r.rejected.columns) == list(REJECTED_COLUMNS), source
        assert set(r.rejected["reason"]) == set(BAD_ROW[source].split("+")), (source, r.rejected)
        assert (r.rejected["message"].str.len() > 20).all() and (r.rejected["source_file"] != "").all()
        assert set(r.events["type"]) <= set(EVENT_TYPES)
        for table in (r.messages, r.events, r.customers):
            text = table.to_csv()
            assert "@example.com" not in text and "612 345 678" not in text, source  # pseudonymised
        # Nothing the rejected rows say quotes the row's content (an e-mail would be a leak).
        assert "@" not in r.rejected.to_csv(), source


def test_whatsapp_android_spanish_and_ios_english() -> None:
    r = _run("whatsapp")
    carmen, emma = pid("+34 612 345 678"), P.always("Emma Jones")
    assert set(r.messages["customer_id"]) == {carmen, emma}
    texts = r.messages.set_index("message_id")["text"].tolist()
    multi_line = "Buenas, el pedido de la semana pasada llegó con la bolsa nevera rota.\nOs mando foto."
    assert multi_line in texts
    assert not any("Tienda Sol" in t or "te mandamos otra" in t for t in texts)  # the business's words
    assert not any("omitid" in t or "omitted" in t or "eliminó" in t or "cifrados" in t for t in texts)
    assert r.counts == {"agent_messages": 5, "customer_messages": 8, "deleted_messages": 1, "media_placeholders": 2,
                        "system_lines": 2}
    ts = dict(zip(r.messages["text"], r.messages["timestamp"], strict=True))
    assert ts["Hola! Tenéis la toalla XL en azul?"] == "2025-02-13T09:12:00Z"  # 13/02/25: day first, shown by 13
    # iOS en-US: AM/PM and no day above 12 -> month first: 6/12/25 is 12 June; the clock's U+202F space is read.
    assert ts["The hat arrived a bit squashed but it's fine.\nCould you pack it in a box next time?"] == \
        "2025-06-12T19:05:13Z"
    assert (r.messages["channel"] == "whatsapp").all()


def test_whatsapp_formats_time_zones_and_the_business_by_file_name(tmp_path: Path) -> None:
    chat = tmp_path / "Chat de WhatsApp con Luis.txt"
    chat.write_text("31/12/2023, 9:41 p. m. - Luis: Hola\n31/12/2023, 9:45 p. m. - Tienda: Dime\n"
                    "01/01/2024, 10:00 a. m. - Luis: Feliz año, ¿y mi pedido?\n", encoding="utf-8")
    r = run_import("whatsapp", [chat], ImportOptions(timestamps=TimestampPolicy(timezone="Europe/Madrid")))
    assert r.messages["timestamp"].tolist() == ["2023-12-31T20:41:00Z", "2024-01-01T09:00:00Z"]
    assert set(r.messages["customer_id"]) == {"Luis"} and r.counts["agent_messages"] == 1  # no pseudonymizer given
    us = tmp_path / "export.txt"
    us.write_text("1/2/24, 9:41 PM - Ann: hi\n1/3/24, 10:00 AM - Shop: hello\n", encoding="utf-8")
    r2 = run_import("whatsapp", [us], ImportOptions(business=("shop",), timestamps=TimestampPolicy(dayfirst=False),
                                                    dayfirst_explicit=True))
    assert r2.messages["timestamp"].tolist() == ["2024-01-02T21:41:00Z"]
    from analyzer.errors import InputFormatError

    with pytest.raises(InputFormatError, match="--business"):
        run_import("whatsapp", [us], ImportOptions())
    with pytest.raises(InputFormatError, match="no WhatsApp message lines"):
        (tmp_path / "x.txt").write_text("hello\n", encoding="utf-8")
        run_import("whatsapp", [tmp_path / "x.txt"], ImportOptions(business=("a",)))


def test_zendesk_only_customer_words_lifecycle_and_csat() -> None:
    r = _run("zendesk")
    ana = pid("ana.garcia@example.com")
    msgs = r.messages[r.messages["customer_id"] == ana]["text"].tolist()
    assert msgs[0].startswith("Pedido #1078 sin llegar\nHola, hice el pedido hace una semana y sigue sin llegar.")
    assert "<b>" not in "".join(msgs) and "Han pasado cinco días" in msgs[1]
    assert not any("lo revisamos" in m or "Nota interna" in m for m in r.messages["text"])  # agent, private note
    ev = r.events[r.events["customer_id"] == ana]
    assert ev["type"].tolist() == ["ticket_opened", "ticket_replied", "csat"]  # open: no ticket_resolved
    assert ev[ev["type"] == "csat"]["value"].tolist() == [1.0]  # "bad"
    luis = r.events[r.events["customer_id"] == pid("luis.martin@example.com")]
    assert luis["type"].tolist() == ["ticket_opened", "ticket_replied", "ticket_resolved", "csat"]
    assert luis[luis["type"] == "csat"]["value"].tolist() == [5.0]  # "good"
    assert r.counts["notes_skipped"] == 1 and r.counts["agent_replies"] == 3


def test_zendesk_view_export_csv(tmp_path: Path) -> None:
    f = tmp_path / "view.csv"
    f.write_text("Id,Requester email,Subject,Description,Status,Created at,Solved at,Satisfaction\n"
                 "7,Eva@Example.com,No funciona,<p>La app no abre</p>,Solved,2025-03-01 10:00,2025-03-02 10:00,Bad\n",
                 encoding="utf-8")
    r = run_import("zendesk", [f], ImportOptions(pseudonymizer=P))
    assert r.messages["text"].tolist() == ["No funciona\nLa app no abre"]
    assert r.events["type"].tolist() == ["ticket_opened", "ticket_resolved", "csat"]
    assert r.events["customer_id"].iloc[0] == pid("eva@example.com")  # e-mails compared lower-cased


def test_freshdesk_csv_and_json_with_conversations(tmp_path: Path) -> None:
    r = _run("freshdesk")
    marta = r.events[r.events["customer_id"] == pid("marta.ruiz@example.com")]
    assert marta["type"].tolist() == ["ticket_opened", "ticket_resolved", "csat"]
    assert marta[marta["type"] == "csat"]["value"].tolist() == [2.0]  # "Unhappy" on the seven faces
    f = tmp_path / "tickets.json"
    f.write_text(json.dumps([{"id": 5, "subject": "Hola", "description_text": "Mi pedido", "status": 2, "source": 7,
                              "requester": {"email": "x@example.org"}, "created_at": "2025-01-01T10:00:00Z",
                              "conversations": [
                                  {"body_text": "Lo miramos", "incoming": False, "private": False,
                                   "created_at": "2025-01-01T11:00:00Z"},
                                  {"body_text": "nota", "incoming": False, "private": True,
                                   "created_at": "2025-01-01T11:01:00Z"},
                                  {"body_text": "¿Alguna novedad?", "incoming": True, "private": False,
                                   "created_at": "2025-01-02T11:00:00Z"}],
                              "satisfaction_ratings": [{"ratings": {"default_question": -103},
                                                        "feedback": "Fatal", "created_at": "2025-01-03T11:00:00Z"}]}]),
                 encoding="utf-8")
    j = run_import("freshdesk", [f], ImportOptions(pseudonymizer=P))
    assert j.messages["text"].tolist() == ["Hola\nMi pedido", "¿Alguna novedad?", "Fatal"]
    assert j.events["type"].tolist() == ["ticket_opened", "ticket_replied", "csat"]
    assert j.events["channel"].iloc[0] == "chat" and j.events["value"].iloc[-1] == 1.0


def test_intercom_authors_parts_and_rating() -> None:
    r = _run("intercom")
    john = pid("john.smith@example.org")
    texts = r.messages[r.messages["customer_id"] == john]["text"].tolist()
    assert texts == ["The app crashes every time I try to pay. Third time this week.",
                     "It happened again tonight. I might just order somewhere else.",
                     "Still not fixed, very frustrating."]
    ev = r.events[r.events["customer_id"] == john]
    assert ev["type"].tolist() == ["ticket_opened", "ticket_replied", "ticket_resolved", "csat"]  # bot not a reply
    assert ev["timestamp"].iloc[0] == "2025-06-18T20:10:00Z"  # epoch seconds


def test_crm_contacts_companies_tickets_notes_and_value_tiers() -> None:
    h = _run("hubspot")
    cust = h.customers.set_index("customer_id")
    sofia = pid("sofia.navarro@example.com")
    assert cust.loc[sofia, "owner"] == "Irene Campos" and cust.loc[sofia, "segment"] == "customer"
    assert cust.loc[sofia, "value"] == 4820.0 and cust.loc[sofia, "value_tier"] == "high"  # "4.820,00"
    assert not cust["opt_out"].any()  # a marketing unsubscription is not an objection to profiling
    notes = h.messages.set_index("customer_id")["text"]
    assert notes[pid("ana.garcia@example.com")].startswith("Llamada: muy molesta")  # XLSX, HTML stripped
    assert (h.messages["channel"] == "crm_note").all()
    assert h.events[h.events["customer_id"] == sofia]["type"].tolist() == ["ticket_opened", "ticket_resolved"]
    s = _run("salesforce")
    sc = s.customers.set_index("customer_id")
    assert sc.loc[sofia, "segment"] == "Hospitality" and sc.loc[sofia, "value"] == 850000.0  # from the Account
    assert pid("+34 699 000 111") in sc.index  # no e-mail: the phone, pseudonymised
    assert "evalúa otro proveedor" in s.messages.set_index("customer_id")["text"][sofia]
    d = _run("dynamics")
    john = pid("john.smith@example.org")
    assert d.events[d.events["customer_id"] == john]["type"].tolist() == ["ticket_opened"]  # by the Customer name
    assert d.messages["customer_id"].tolist() == [john]
    assert d.customers.set_index("customer_id").loc[john, "owner"] == "Irene Campos"


def test_reviews_google_trustpilot_and_nps() -> None:
    g = _run("google-reviews")
    stars = dict(zip(g.events["event_id"], g.events["value"], strict=True))
    assert stars["google-reviews:AbFvOq1"] == 2.0 and stars["google-reviews:AbFvOq2"] == 5.0
    assert "Nice hats, fast delivery!" in g.messages["text"].tolist()  # the original, not Google's translation
    assert not any("Translated" in t for t in g.messages["text"])
    anon = g.events[g.events["event_id"] == "google-reviews:AbFvOq4"]["customer_id"].iloc[0]
    assert anon == "google-review:AbFvOq4"  # an anonymous reviewer is a customer of one review
    t = _run("trustpilot")
    marta = pid("marta.ruiz@example.com")
    assert t.events.set_index("customer_id").loc[marta, "value"] == 1.0
    assert t.messages.set_index("customer_id").loc[marta, "text"].startswith("Cobran dos veces\n")
    n = _run("nps")  # ';'-separated, cp1252, day-first dates: detected, not configured
    ana = n.events[n.events["customer_id"] == pid("ana.garcia@example.com")]
    assert ana["value"].tolist() == [9.0, 2.0] and ana["timestamp"].tolist() == ["2025-02-15T10:20:00Z",
                                                                                  "2025-05-20T19:15:00Z"]
    assert n.counts == {"detractors": 2, "passives": 2, "promoters": 5, "responses": 10}
    assert "El último pedido fue un desastre y nadie contesta." in n.messages["text"].tolist()


def test_shopify_orders_refunds_cancellations_and_spend() -> None:
    r = _run("shopify")
    orders = pd.read_csv(FILES["shopify"][0], dtype=str, keep_default_na=False)
    assert r.counts["orders"] == orders["Name"].nunique()  # one row per line item, one order
    assert r.rejected["record_id"].tolist() == ["#1082"]  # the order with neither e-mail nor phone
    marta = r.events[r.events["customer_id"] == pid("marta.ruiz@example.com")]
    assert set(marta["type"]) == {"purchase", "refund", "order_cancelled"}
    assert r.events[r.events["event_id"] == "shopify:#1001:purchase"]["timestamp"].iloc[0] == "2025-01-03T14:00:00Z"
    carmen = pid("+34 612 345 678")  # no e-mail: the phone, the same id as her WhatsApp chat
    assert carmen in set(r.events["customer_id"]) and carmen in set(_run("whatsapp").messages["customer_id"])
    spent = r.customers.set_index("customer_id")["value"]
    sofia = pid("sofia.navarro@example.com")
    assert spent[sofia] == spent.max() and r.customers.set_index("customer_id").loc[sofia, "value_tier"] in (
        "vip", "high")


def test_ga4_event_names_users_and_revenue() -> None:
    r = _run("ga4")
    assert r.counts["anonymous_events"] > 0 and r.counts["skipped:session_start"] > 0
    assert set(r.events["customer_id"]) == {"C-4004", "C-4007"}  # joined on user_id (not contact data)
    assert r.events[r.events["type"] == "purchase"]["value"].tolist() == [64.5]
    errors = r.events[r.events["type"] == "error"]
    assert len(errors) == r.counts["mapped:exception"] and set(errors["customer_id"]) == {"C-4004"}
    assert (r.events["timestamp"].str.startswith("2025-06")).all()  # microseconds since the epoch


def test_profile_maps_any_export(tmp_path: Path) -> None:
    r = _run("profile")
    ev = r.events
    assert sorted(ev["type"]) == ["purchase", "purchase", "purchase", "refund"]
    assert ev[ev["customer_id"] == "TPV-0009"]["value"].tolist() == [1099.0]  # "1.099,00"
    assert r.messages.set_index("customer_id").loc["TPV-0007", "text"].startswith("La talla")
    assert r.customers.set_index("customer_id").loc["TPV-0009", "value"] == 5400.0
    from analyzer.errors import ConfigError, InputFormatError

    bad = tmp_path / "p.yaml"
    bad.write_text("events:\n  customer_id: A\n  timestamp: B\n  type: {value: compra}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="compra"):
        run_import("profile", FILES["profile"], ImportOptions(profile=bad))
    bad.write_text("messages:\n  customer_id: A\n  timestamp: B\n  txt: C\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="txt"):
        run_import("profile", FILES["profile"], ImportOptions(profile=bad))
    bad.write_text("messages:\n  customer_id: Cliente\n  timestamp: Fecha\n  text: Texto\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="Cliente"):
        run_import("profile", FILES["profile"], ImportOptions(profile=bad))
