"""Writes the importer samples in datasets/sample/<source>/ (CC0, written by this project).

Every file follows the layout its vendor documents publicly (column names, JSON fields, date
formats); no row comes from a real export. One small world: "Tienda Sol", a Spanish online shop,
January-June 2025, with customers who appear in several sources under the same e-mail or phone
(so the tables join once imported), a few who drift away, and one deliberately bad row per file
(so every importer's rejected-rows file shows a reason). Run it again to rebuild them:

    .venv/bin/python datasets/sample/make_import_samples.py
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent
R = random.Random(2025)
START = dt.datetime(2025, 1, 3, 10, 0)
END = dt.datetime(2025, 6, 30, 18, 0)


def d(day: str, time: str = "10:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}")


# (email, name, phone, purchase every n days, last purchase, basket)
SHOPPERS = [
    ("ana.garcia@example.com", "Ana García", "", 12, "2025-05-06", 45.0),
    ("luis.martin@example.com", "Luis Martín", "", 25, "2025-06-25", 70.0),
    ("marta.ruiz@example.com", "Marta Ruiz", "", 20, "2025-05-20", 38.0),
    ("john.smith@example.org", "John Smith", "", 28, "2025-06-20", 120.0),
    ("", "Carmen López", "+34 612 345 678", 14, "2025-04-10", 32.0),
    ("pedro.sanchez@example.com", "Pedro Sánchez", "", 21, "2025-06-28", 55.0),
    ("laura.diaz@example.com", "Laura Díaz", "", 7, "2025-03-15", 25.0),
    ("david.moreno@example.com", "David Moreno", "", 30, "2025-06-15", 90.0),
    ("sofia.navarro@example.com", "Sofía Navarro", "", 10, "2025-06-27", 210.0),
    ("emma.jones@example.org", "Emma Jones", "", 35, "2025-06-10", 60.0),
]
PRODUCTS = [
    ("Crema solar SPF50", "CS-050", 18.5),
    ("Gafas de sol Mar", "GS-110", 39.0),
    ("Toalla playa XL", "TP-200", 22.0),
    ("Sombrero paja", "SP-031", 27.5),
    ("Bolsa nevera", "BN-007", 31.0),
    ("After sun aloe", "AS-012", 12.9),
]


def _write_csv(
    path: Path, header: list[str], rows: list[list[object]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)


def _write_json(path: Path, data: object, *, lines: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        if lines:
            for item in data:  # type: ignore[attr-defined]
                fh.write(item if isinstance(item, str) else json.dumps(item, ensure_ascii=False))
                fh.write("\n")
        else:
            json.dump(data, fh, ensure_ascii=False, indent=1)


def shopify() -> None:
    header = [
        "Name",
        "Email",
        "Financial Status",
        "Paid at",
        "Fulfillment Status",
        "Fulfilled at",
        "Accepts Marketing",
        "Currency",
        "Subtotal",
        "Shipping",
        "Taxes",
        "Total",
        "Discount Code",
        "Discount Amount",
        "Shipping Method",
        "Created at",
        "Lineitem quantity",
        "Lineitem name",
        "Lineitem price",
        "Lineitem sku",
        "Billing Name",
        "Billing City",
        "Billing Country",
        "Notes",
        "Cancelled at",
        "Payment Method",
        "Refunded Amount",
        "Id",
        "Tags",
        "Source",
        "Phone",
    ]
    orders = []
    for email, name, phone, every, last, basket in SHOPPERS:
        t = START + dt.timedelta(days=R.randint(0, every), hours=R.randint(0, 8))
        while t <= min(d(last, "20:00"), END):
            orders.append((t, email, name, phone, basket * R.uniform(0.7, 1.3)))
            t += dt.timedelta(days=max(3, round(R.gauss(every, every * 0.2))), hours=R.randint(-3, 3))
    orders.sort()
    rows: list[list[object]] = []
    order_no = 1001
    for t, email, name, phone, amount in orders:
        status, cancelled = "paid", ""
        if email == "marta.ruiz@example.com" and t.month == 4:
            status = "refunded"
        if email == "marta.ruiz@example.com" and t.month == 5:
            status, cancelled = "voided", (t + dt.timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S +0200")
        items = R.sample(PRODUCTS, k=R.randint(1, 3))
        subtotal = round(sum(p for _, _, p in items), 2)
        total = round(max(amount, subtotal) + 4.95, 2)
        created = t.strftime("%Y-%m-%d %H:%M:%S ") + ("+0200" if t.month >= 4 else "+0100")
        for i, (pname, sku, price) in enumerate(items):
            first = i == 0
            rows.append(
                [
                    f"#{order_no}",
                    email if first else "",
                    status if first else "",
                    created if first and status != "voided" else "",
                    "fulfilled" if first else "",
                    created if first else "",
                    "yes" if first else "",
                    "EUR" if first else "",
                    subtotal if first else "",
                    4.95 if first else "",
                    round(total * 0.21 / 1.21, 2) if first else "",
                    total if first else "",
                    "",
                    "",
                    "Envío estándar" if first else "",
                    created if first else "",
                    1,
                    pname,
                    price,
                    sku,
                    name if first else "",
                    "Valencia" if first else "",
                    "ES" if first else "",
                    "",
                    cancelled if first else "",
                    "Shopify Payments" if first else "",
                    total if first and status == "refunded" else (0 if first else ""),
                    5123400000 + order_no if first else "",
                    "",
                    "web" if first else "",
                    phone if first else "",
                ]
            )
        order_no += 1
    # A bad row: an order nobody can be tied to (no e-mail, no phone).
    rows.append(
        [
            f"#{order_no}",
            "",
            "paid",
            "2025-06-29 12:00:00 +0200",
            "fulfilled",
            "",
            "no",
            "EUR",
            20,
            4.95,
            4.33,
            24.95,
            "",
            "",
            "Envío estándar",
            "2025-06-29 12:00:00 +0200",
            1,
            "After sun aloe",
            12.9,
            "AS-012",
            "",
            "",
            "ES",
            "",
            "",
            "Shopify Payments",
            0,
            5123400000 + order_no,
            "",
            "pos",
            "",
        ]
    )
    _write_csv(ROOT / "shopify" / "orders_export.csv", header, rows)


def zendesk() -> None:
    users = [
        {"id": 9001, "name": "Irene (Tienda Sol)", "email": "irene@tiendasol.example", "role": "agent"},
        {"id": 9002, "name": "Tomás (Tienda Sol)", "email": "tomas@tiendasol.example", "role": "admin"},
        {"id": 501, "name": "Ana García", "email": "ana.garcia@example.com", "role": "end-user"},
        {"id": 502, "name": "Luis Martín", "email": "luis.martin@example.com", "role": "end-user"},
        {"id": 503, "name": "Marta Ruiz", "email": "marta.ruiz@example.com", "role": "end-user"},
    ]

    def comment(cid: int, author: int, when: str, html: str, public: bool = True) -> dict[str, object]:
        plain = html.replace("<p>", "").replace("</p>", "\n").replace("<br>", "\n").strip()
        return {
            "id": cid,
            "type": "Comment",
            "author_id": author,
            "body": plain,
            "html_body": html,
            "public": public,
            "created_at": when,
        }

    tickets = [
        {
            "id": 35436,
            "url": "https://tiendasol.zendesk.com/api/v2/tickets/35436.json",
            "created_at": "2025-05-08T09:12:00Z",
            "updated_at": "2025-05-16T11:00:00Z",
            "subject": "Pedido #1078 sin llegar",
            "description": "",
            "status": "open",
            "requester_id": 501,
            "submitter_id": 501,
            "assignee_id": 9001,
            "via": {"channel": "email"},
            "tags": ["envio", "retraso"],
            "satisfaction_rating": {
                "score": "bad",
                "comment": "Nadie me da una fecha.",
                "created_at": "2025-05-16T11:00:00Z",
            },
            "comments": [
                comment(
                    1,
                    501,
                    "2025-05-08T09:12:00Z",
                    "<p>Hola, hice el pedido hace una semana y <b>sigue sin llegar</b>."
                    "</p><p>¿Me podéis decir dónde está?</p>",
                ),
                comment(
                    2, 9001, "2025-05-09T15:30:00Z", "<p>Hola Ana, lo revisamos con la agencia y te decimos algo.</p>"
                ),
                comment(3, 9001, "2025-05-09T15:31:00Z", "<p>Nota interna: la agencia no contesta.</p>", public=False),
                comment(
                    4,
                    501,
                    "2025-05-14T19:45:00Z",
                    "<p>Han pasado cinco días y nadie me responde. Es la tercera vez "
                    "que me pasa, estoy muy decepcionada.</p>",
                ),
            ],
        },
        {
            "id": 35502,
            "created_at": "2025-03-02T10:00:00Z",
            "updated_at": "2025-03-03T09:00:00Z",
            "subject": "Cambio de talla",
            "description": "",
            "status": "solved",
            "requester_id": 502,
            "assignee_id": 9002,
            "via": {"channel": "web"},
            "metric_set": {"solved_at": "2025-03-03T09:00:00Z"},
            "satisfaction_rating": {
                "score": "good",
                "comment": "Rapidísimos, gracias",
                "created_at": "2025-03-03T12:00:00Z",
            },
            "comments": [
                comment(11, 502, "2025-03-02T10:00:00Z", "<p>¿Puedo cambiar el sombrero por una talla más?</p>"),
                comment(12, 9002, "2025-03-02T16:00:00Z", "<p>Claro, te enviamos la etiqueta.</p>"),
            ],
        },
        {
            "id": 35610,
            "created_at": "2025-04-12T08:20:00Z",
            "updated_at": "2025-04-20T10:00:00Z",
            "subject": "Reembolso del pedido",
            "status": "solved",
            "requester_id": 503,
            "assignee_id": 9001,
            "via": {"channel": "email"},
            "metric_set": {"solved_at": "2025-04-20T10:00:00Z"},
            "comments": [
                comment(
                    21, 503, "2025-04-12T08:20:00Z", "<p>La crema llegó abierta. Quiero la devolución del dinero.</p>"
                ),
                comment(22, 9001, "2025-04-19T10:00:00Z", "<p>Sentimos el retraso, ya está el reembolso.</p>"),
            ],
        },
        # A bad row: the creation date is not a date.
        {
            "id": 35611,
            "created_at": "pending",
            "subject": "Factura",
            "status": "new",
            "requester_id": 502,
            "comments": [comment(31, 502, "pending", "<p>Necesito la factura del pedido #1050.</p>")],
        },
    ]
    _write_json(ROOT / "zendesk" / "tickets.json", {"tickets": tickets, "users": users, "count": len(tickets)})


def freshdesk() -> None:
    header = [
        "Ticket ID",
        "Subject",
        "Description",
        "Status",
        "Priority",
        "Source",
        "Type",
        "Agent",
        "Group",
        "Created time",
        "Due by Time",
        "Resolved time",
        "Closed time",
        "Last update time",
        "Initial response time",
        "Full name",
        "Email",
        "Survey results",
    ]
    rows = [
        [
            1201,
            "No puedo aplicar el cupón",
            "El cupón VERANO10 da error al pagar.",
            "Resolved",
            "Medium",
            "Email",
            "Question",
            "Irene",
            "Soporte",
            "2025-02-10 09:15:02",
            "2025-02-11 09:15:02",
            "2025-02-10 12:40:00",
            "",
            "2025-02-10 12:40:00",
            "2025-02-10 10:02:00",
            "Pedro Sánchez",
            "pedro.sanchez@example.com",
            "Extremely happy",
        ],
        [
            1202,
            "Cobro duplicado",
            "Me habéis cobrado dos veces el pedido, esto es inaceptable.",
            "Closed",
            "High",
            "Phone",
            "Problem",
            "Tomás",
            "Facturación",
            "2025-05-22 17:05:44",
            "2025-05-23 17:05:44",
            "",
            "2025-05-28 10:00:00",
            "2025-05-28 10:00:00",
            "2025-05-24 09:00:00",
            "Marta Ruiz",
            "marta.ruiz@example.com",
            "Unhappy",
        ],
        [
            1203,
            "Consulta envío a Canarias",
            "¿Enviáis a Tenerife?",
            "Open",
            "Low",
            "Portal",
            "Question",
            "",
            "Soporte",
            "2025-06-26 11:00:00",
            "2025-06-27 11:00:00",
            "",
            "",
            "2025-06-26 11:00:00",
            "",
            "David Moreno",
            "david.moreno@example.com",
            "",
        ],
        # A bad row: no e-mail and no contact id.
        [
            1204,
            "Sin remitente",
            "Mensaje sin remitente",
            "Open",
            "Low",
            "Email",
            "",
            "",
            "",
            "2025-06-27 08:00:00",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
    ]
    _write_csv(ROOT / "freshdesk" / "tickets_export.csv", header, rows)


def intercom() -> None:
    def ts(s: str) -> int:
        return int(dt.datetime.fromisoformat(s).replace(tzinfo=dt.UTC).timestamp())

    convs = [
        {
            "type": "conversation",
            "id": "215467",
            "created_at": ts("2025-06-18T20:10:00"),
            "updated_at": ts("2025-06-21T09:00:00"),
            "state": "closed",
            "source": {
                "type": "conversation",
                "delivered_as": "customer_initiated",
                "subject": "",
                "body": "<p>The app crashes every time I try to pay. Third time this week.</p>",
                "author": {"type": "user", "id": "u-77", "email": "john.smith@example.org"},
            },
            "contacts": {
                "type": "contact.list",
                "contacts": [{"type": "contact", "id": "u-77", "external_id": "C-4004"}],
            },
            "conversation_rating": {
                "rating": 2,
                "remark": "Still not fixed, very frustrating.",
                "created_at": ts("2025-06-21T10:00:00"),
            },
            "conversation_parts": {
                "type": "conversation_part.list",
                "conversation_parts": [
                    {
                        "type": "conversation_part",
                        "id": "1",
                        "part_type": "comment",
                        "created_at": ts("2025-06-18T20:10:30"),
                        "body": "<p>Hi! I can help with payments. Could you tell me your order number?</p>",
                        "author": {"type": "bot", "id": "b1"},
                    },
                    {
                        "type": "conversation_part",
                        "id": "2",
                        "part_type": "comment",
                        "created_at": ts("2025-06-19T09:00:00"),
                        "body": "<p>Sorry about that John, our team is looking into the checkout error.</p>",
                        "author": {"type": "admin", "id": "a1", "email": "irene@tiendasol.example"},
                    },
                    {
                        "type": "conversation_part",
                        "id": "3",
                        "part_type": "note",
                        "created_at": ts("2025-06-19T09:05:00"),
                        "body": "<p>Bug TS-112</p>",
                        "author": {"type": "admin", "id": "a1"},
                    },
                    {
                        "type": "conversation_part",
                        "id": "4",
                        "part_type": "comment",
                        "created_at": ts("2025-06-20T21:00:00"),
                        "body": "<p>It happened again tonight. I might just order somewhere else.</p>",
                        "author": {"type": "user", "id": "u-77", "email": "john.smith@example.org"},
                    },
                    {
                        "type": "conversation_part",
                        "id": "5",
                        "part_type": "close",
                        "created_at": ts("2025-06-21T09:00:00"),
                        "body": None,
                        "author": {"type": "admin", "id": "a1"},
                    },
                ],
            },
        },
        {
            "type": "conversation",
            "id": "215470",
            "created_at": ts("2025-04-02T12:00:00"),
            "updated_at": ts("2025-04-02T12:30:00"),
            "state": "closed",
            "source": {
                "type": "conversation",
                "body": "<p>Do you ship to the UK?</p>",
                "author": {"type": "lead", "id": "u-80", "email": "emma.jones@example.org"},
            },
            "contacts": {"contacts": [{"type": "contact", "id": "u-80"}]},
            "conversation_rating": {"rating": 5, "remark": "", "created_at": ts("2025-04-02T13:00:00")},
            "conversation_parts": {
                "conversation_parts": [
                    {
                        "part_type": "comment",
                        "created_at": ts("2025-04-02T12:20:00"),
                        "body": "<p>Yes, in 3-5 days.</p>",
                        "author": {"type": "admin", "id": "a2"},
                    },
                    {
                        "part_type": "close",
                        "created_at": ts("2025-04-02T12:30:00"),
                        "author": {"type": "admin", "id": "a2"},
                    },
                ]
            },
        },
        # A bad row: a rating of 9 on Intercom's 1-5 scale.
        {
            "type": "conversation",
            "id": "215471",
            "created_at": ts("2025-06-01T12:00:00"),
            "state": "open",
            "source": {
                "type": "conversation",
                "body": "<p>Hello?</p>",
                "author": {"type": "user", "id": "u-81", "email": "emma.jones@example.org"},
            },
            "conversation_rating": {"rating": 9, "created_at": ts("2025-06-01T13:00:00")},
            "conversation_parts": {"conversation_parts": []},
        },
    ]
    _write_json(ROOT / "intercom" / "conversations.json", {"type": "conversation.list", "conversations": convs})


def whatsapp() -> None:
    android = """13/02/25, 9:12 - Los mensajes y las llamadas están cifrados de extremo a extremo. Nadie fuera de este chat, ni siquiera WhatsApp, puede leerlos ni escucharlos. Toca para obtener más información.
13/02/25, 9:12 - +34 612 345 678: Hola! Tenéis la toalla XL en azul?
13/02/25, 9:40 - Tienda Sol: Hola Carmen, sí, te paso el enlace 😊
13/02/25, 9:41 - Tienda Sol: <Multimedia omitido>
13/02/25, 9:50 - +34 612 345 678: Genial, gracias!!
02/04/25, 18:03 - +34 612 345 678: Buenas, el pedido de la semana pasada llegó con la bolsa nevera rota.
Os mando foto.
02/04/25, 18:03 - +34 612 345 678: <Multimedia omitido>
03/04/25, 10:15 - Tienda Sol: Lo sentimos mucho, te mandamos otra sin coste.
21/04/25, 20:30 - +34 612 345 678: Al final no ha llegado la nueva. Nadie contesta.
28/04/25, 21:02 - +34 612 345 678: Es la última vez que os compro, me voy a dar de baja de la newsletter y se lo diré a mis amigas.
28/04/25, 21:05 - +34 612 345 678: Se eliminó este mensaje
"""
    (ROOT / "whatsapp").mkdir(parents=True, exist_ok=True)
    (ROOT / "whatsapp" / "WhatsApp Chat with +34 612 345 678.txt").write_text(
        "Chat exportado el 30/06/25\n" + android, encoding="utf-8"
    )
    ios = """[4/2/25, 9:14:02 AM] Tienda Sol: \u200eMessages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them.
[4/2/25, 9:14:02 AM] Emma Jones: Hi! Is the straw hat available in size L?
[4/2/25, 9:20:45 AM] Tienda Sol: Hi Emma, yes it is!
[4/2/25, 9:21:10 AM] Emma Jones: \u200eimage omitted
[4/2/25, 9:22:00 AM] Emma Jones: Lovely, ordering now. Thanks for the quick answer
[6/12/25, 7:05:13\u202fPM] Emma Jones: The hat arrived a bit squashed but it's fine.
Could you pack it in a box next time?
[6/12/25, 7:30:00\u202fPM] Tienda Sol: Of course, sorry about that!
"""
    (ROOT / "whatsapp" / "WhatsApp Chat with Emma Jones.txt").write_text(ios, encoding="utf-8")


def reviews() -> None:
    google = {
        "reviews": [
            {
                "name": "accounts/108/locations/77/reviews/AbFvOq1",
                "reviewId": "AbFvOq1",
                "reviewer": {
                    "displayName": "Ana García",
                    "profilePhotoUrl": "https://example.com/a.png",
                    "isAnonymous": False,
                },
                "starRating": "TWO",
                "comment": "El pedido tardó casi tres semanas y el servicio de atención no responde. "
                "Antes compraba mucho aquí, ya no.",
                "createTime": "2025-05-18T20:11:54.123Z",
                "updateTime": "2025-05-18T20:11:54.123Z",
            },
            {
                "name": "accounts/108/locations/77/reviews/AbFvOq2",
                "reviewId": "AbFvOq2",
                "reviewer": {"displayName": "Luis Martín"},
                "starRating": "FIVE",
                "comment": "Todo perfecto, envío rapidísimo.",
                "createTime": "2025-03-05T10:00:00Z",
                "reviewReply": {"comment": "¡Gracias Luis!", "updateTime": "2025-03-06T09:00:00Z"},
            },
            {
                "name": "accounts/108/locations/77/reviews/AbFvOq3",
                "reviewId": "AbFvOq3",
                "reviewer": {"displayName": "Emma Jones"},
                "starRating": "FOUR",
                "comment": "(Translated by Google) Nice hats, fast delivery\n\n(Original)\nNice hats, fast delivery!",
                "createTime": "2025-04-10T17:45:00Z",
            },
            {
                "name": "accounts/108/locations/77/reviews/AbFvOq4",
                "reviewId": "AbFvOq4",
                "reviewer": {"displayName": "A Google user", "isAnonymous": True},
                "starRating": "THREE",
                "createTime": "2025-06-02T08:00:00Z",
            },
            # A bad row: a star rating that is not one of ONE..FIVE.
            {
                "name": "accounts/108/locations/77/reviews/AbFvOq5",
                "reviewId": "AbFvOq5",
                "reviewer": {"displayName": "Pedro Sánchez"},
                "starRating": "STAR_RATING_UNSPECIFIED",
                "comment": "Bien",
                "createTime": "2025-06-20T08:00:00Z",
            },
        ],
        "averageRating": 3.5,
        "totalReviewCount": 5,
    }
    _write_json(ROOT / "google-reviews" / "reviews.json", google)
    header = [
        "Review Created (UTC)",
        "Review ID",
        "Review Title",
        "Review Content",
        "Review Stars",
        "Source Of Review",
        "Review Language",
        "Domain URL",
        "Webshop Name",
        "Business Unit ID",
        "Tags",
        "Company Reply Date (UTC)",
        "Reply Content",
        "Reference Id",
        "Email Address",
        "Consumer Name",
        "Location",
    ]
    rows = [
        [
            "2025-05-30 14:22:10",
            "6650a1b2c3",
            "Cobran dos veces",
            "Me cobraron dos veces y la devolución tardó un mes. No vuelvo.",
            1,
            "Organic",
            "es",
            "tiendasol.example",
            "Tienda Sol",
            "5f1e",
            "",
            "2025-06-01 09:00:00",
            "Lamentamos lo ocurrido",
            "#1092",
            "marta.ruiz@example.com",
            "Marta R.",
            "ES",
        ],
        [
            "2025-06-12 19:02:33",
            "6650a1b2c4",
            "Lovely hats",
            "Arrived a bit squashed but lovely quality.",
            4,
            "Invitation",
            "en",
            "tiendasol.example",
            "Tienda Sol",
            "5f1e",
            "",
            "",
            "",
            "#1110",
            "emma.jones@example.org",
            "Emma J.",
            "GB",
        ],
        [
            "2025-02-01 11:00:00",
            "6650a1b2c5",
            "Genial",
            "Muy buena atención.",
            5,
            "Organic",
            "es",
            "tiendasol.example",
            "Tienda Sol",
            "5f1e",
            "",
            "",
            "",
            "",
            "pedro.sanchez@example.com",
            "Pedro",
            "ES",
        ],
        # A bad row: the date is not a date.
        [
            "ayer",
            "6650a1b2c6",
            "Ok",
            "Ok",
            3,
            "Organic",
            "es",
            "tiendasol.example",
            "Tienda Sol",
            "5f1e",
            "",
            "",
            "",
            "",
            "luis.martin@example.com",
            "Luis",
            "ES",
        ],
    ]
    _write_csv(ROOT / "trustpilot" / "reviews.csv", header, rows)


def nps() -> None:
    # A Spanish Excel export: ';' separated, cp1252, day-first dates.
    header = [
        "Id respuesta",
        "Fecha",
        "Correo electrónico",
        "¿Qué probabilidad hay de que recomiendes Tienda Sol a un amigo? (0-10)",
        "¿Por qué?",
    ]
    rows = [
        ["r-01", "15/02/2025 10:20", "ana.garcia@example.com", 9, "Siempre llega rápido y bien."],
        ["r-02", "15/02/2025 11:02", "luis.martin@example.com", 10, "Muy contento."],
        ["r-03", "16/02/2025 09:45", "marta.ruiz@example.com", 7, ""],
        ["r-04", "17/02/2025 18:30", "pedro.sanchez@example.com", 9, "Buen precio."],
        ["r-05", "18/02/2025 12:00", "laura.diaz@example.com", 8, ""],
        ["r-06", "20/05/2025 19:15", "ana.garcia@example.com", 2, "El último pedido fue un desastre y nadie contesta."],
        ["r-07", "21/05/2025 08:10", "marta.ruiz@example.com", 3, "Problemas con los cobros."],
        ["r-08", "22/05/2025 20:00", "luis.martin@example.com", 9, "Todo bien."],
        ["r-09", "23/05/2025 13:40", "sofia.navarro@example.com", 10, "Excelente servicio al cliente."],
        # A bad row: 11 is not on the 0-10 scale.
        ["r-10", "24/05/2025 10:00", "david.moreno@example.com", 11, "Genial"],
    ]
    _write_csv(ROOT / "nps" / "encuesta_nps.csv", header, rows, delimiter=";", encoding="cp1252")


def ga4() -> None:
    lines: list[object] = []
    base = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    users = [("C-4004", "1822.99", 0.6), ("C-4007", "1911.12", 0.0), (None, "2033.01", 0.0)]
    for day in range(0, 28, 2):
        for uid, pseudo, err in users:
            t = base + dt.timedelta(days=day, hours=R.randint(8, 21), minutes=R.randint(0, 59))
            for name in ("session_start", "login", "page_view", "page_view", "select_item"):
                t += dt.timedelta(seconds=R.randint(5, 90))
                lines.append(_ga4(t, name, uid, pseudo, {"page_location": "https://tiendasol.example/"}))
            if R.random() < err:
                lines.append(
                    _ga4(
                        t + dt.timedelta(seconds=30),
                        "exception",
                        uid,
                        pseudo,
                        {"description": "CheckoutError: payment sheet failed", "fatal": 1},
                    )
                )
    lines.append(
        _ga4(
            base + dt.timedelta(days=3),
            "purchase",
            "C-4007",
            "1911.12",
            {"currency": "EUR"},
            {"transaction_id": "T-88", "purchase_revenue": 64.5},
        )
    )
    lines.append('{"event_date": "20250629", "event_name": ')  # A bad row: a line cut short.
    _write_json(ROOT / "ga4" / "events_20250601.jsonl", lines, lines=True)


def _ga4(
    t: dt.datetime,
    name: str,
    uid: str | None,
    pseudo: str,
    params: dict[str, object],
    ecommerce: dict[str, object] | None = None,
) -> dict[str, object]:
    def p(k: str, v: object) -> dict[str, object]:
        return {"key": k, "value": {"int_value": v} if isinstance(v, int) else {"string_value": v}}

    micros = int(t.timestamp() * 1_000_000)
    return {
        "event_date": t.strftime("%Y%m%d"),
        "event_timestamp": str(micros),
        "event_name": name,
        "event_params": [p(k, v) for k, v in params.items()],
        "user_id": uid,
        "user_pseudo_id": pseudo,
        "event_bundle_sequence_id": str(micros // 1000),
        "platform": "WEB",
        "device": {"category": "mobile"},
        "geo": {"country": "Spain"},
        "ecommerce": ecommerce,
    }


def _xlsx(path: Path, header: list[str], rows: list[list[object]]) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def hubspot() -> None:
    _write_csv(
        ROOT / "hubspot" / "contacts.csv",
        [
            "Record ID",
            "First Name",
            "Last Name",
            "Email",
            "Phone Number",
            "Contact owner",
            "Lifecycle Stage",
            "Create Date",
            "Total revenue",
            "Unsubscribed from all email",
        ],
        [
            [
                51,
                "Sofía",
                "Navarro",
                "sofia.navarro@example.com",
                "",
                "Irene Campos",
                "customer",
                "2024-11-02 10:00",
                "4.820,00",
                "false",
            ],
            [
                52,
                "Ana",
                "García",
                "ana.garcia@example.com",
                "",
                "Irene Campos",
                "customer",
                "2024-06-11 09:00",
                "1.240,50",
                "false",
            ],
            [
                53,
                "Laura",
                "Díaz",
                "laura.diaz@example.com",
                "",
                "Tomás Vidal",
                "customer",
                "2024-09-01 12:00",
                "610,00",
                "false",
            ],
            [
                54,
                "David",
                "Moreno",
                "david.moreno@example.com",
                "",
                "Tomás Vidal",
                "lead",
                "2025-05-01 12:00",
                "180,00",
                "true",
            ],
            [
                55,
                "Pedro",
                "Sánchez",
                "pedro.sanchez@example.com",
                "",
                "Irene Campos",
                "customer",
                "2024-03-15 18:00",
                "2.150,75",
                "false",
            ],
        ],
    )
    _write_csv(
        ROOT / "hubspot" / "tickets.csv",
        [
            "Ticket ID",
            "Ticket name",
            "Ticket description",
            "Pipeline",
            "Ticket status",
            "Create date",
            "Close date",
            "Source",
            "Associated Contact",
        ],
        [
            [
                9101,
                "Pedido mayorista",
                "Consulta de precios por volumen",
                "Support Pipeline",
                "Closed",
                "2025-04-01 09:30",
                "2025-04-02 10:00",
                "Email",
                "Sofía Navarro (sofia.navarro@example.com)",
            ],
            [
                9102,
                "Entrega retrasada",
                "Pedido #1078",
                "Support Pipeline",
                "Waiting on us",
                "2025-05-09 11:00",
                "",
                "Chat",
                "Ana García (ana.garcia@example.com)",
            ],
            # A bad row: the creation date is not a date.
            [9103, "Factura", "", "Support Pipeline", "New", "sin fecha", "", "Email", "52"],
        ],
    )
    _xlsx(
        ROOT / "hubspot" / "notes.xlsx",
        ["Activity date", "Note body", "Associated Contact IDs", "Created by"],
        [
            [
                dt.datetime(2025, 5, 12, 16, 0),
                "<p>Llamada: muy molesta por el retraso, amenaza con irse a la competencia.</p>",
                "52",
                "Irene Campos",
            ],
            [
                dt.datetime(2025, 6, 3, 10, 30),
                "Llamada de seguimiento: quiere catálogo de verano para su tienda.",
                "51",
                "Irene Campos",
            ],
            [dt.datetime(2025, 6, 5, 9, 0), "", "55", "Tomás Vidal"],
        ],
    )  # A bad row: an empty note.


def salesforce() -> None:
    _write_csv(
        ROOT / "salesforce" / "Account.csv",
        ["Id", "Name", "Industry", "Type", "AnnualRevenue", "OwnerId"],
        [
            ["0015g00000AbCdEAAV", "Hotel Las Dunas", "Hospitality", "Customer - Direct", "850000", "0055g0000Own1"],
            ["0015g00000AbCdFAAV", "Surf Shop Levante", "Retail", "Customer - Channel", "120000", "0055g0000Own2"],
        ],
    )
    _write_csv(
        ROOT / "salesforce" / "Contact.csv",
        ["Id", "AccountId", "FirstName", "LastName", "Email", "Phone", "OwnerId", "CreatedDate", "HasOptedOutOfEmail"],
        [
            [
                "0035g00000XyZ1AAA",
                "0015g00000AbCdEAAV",
                "Sofía",
                "Navarro",
                "sofia.navarro@example.com",
                "",
                "0055g0000Own1",
                "2024-11-02T10:00:00.000+0000",
                "false",
            ],
            [
                "0035g00000XyZ2AAA",
                "0015g00000AbCdFAAV",
                "Pedro",
                "Sánchez",
                "pedro.sanchez@example.com",
                "+34 600 111 222",
                "0055g0000Own2",
                "2024-03-15T18:00:00.000+0000",
                "false",
            ],
            [
                "0035g00000XyZ3AAA",
                "",
                "Luis",
                "Martín",
                "",
                "+34 699 000 111",
                "0055g0000Own2",
                "2024-05-15T18:00:00.000+0000",
                "true",
            ],
        ],
    )
    _write_csv(
        ROOT / "salesforce" / "Case.csv",
        [
            "Id",
            "CaseNumber",
            "ContactId",
            "AccountId",
            "Subject",
            "Description",
            "Status",
            "Origin",
            "CreatedDate",
            "ClosedDate",
            "IsClosed",
        ],
        [
            [
                "5005g00000Ca1AAA",
                "00001026",
                "0035g00000XyZ1AAA",
                "0015g00000AbCdEAAV",
                "Toallas con defecto",
                "Lote de 40 toallas con costuras abiertas",
                "Closed",
                "Email",
                "2025-05-20T08:00:00.000+0000",
                "2025-05-27T12:00:00.000+0000",
                "true",
            ],
            [
                "5005g00000Ca2AAA",
                "00001027",
                "0035g00000XyZ2AAA",
                "0015g00000AbCdFAAV",
                "Pedido urgente",
                "",
                "New",
                "Phone",
                "2025-06-24T09:10:00.000+0000",
                "",
                "false",
            ],
            # A bad row: the case names no contact.
            [
                "5005g00000Ca3AAA",
                "00001028",
                "",
                "",
                "Sin contacto",
                "",
                "New",
                "Web",
                "2025-06-25T09:10:00.000+0000",
                "",
                "false",
            ],
        ],
    )
    _write_csv(
        ROOT / "salesforce" / "Note.csv",
        ["Id", "ParentId", "Title", "Body", "CreatedDate"],
        [
            [
                "0025g00000No1AAA",
                "0035g00000XyZ1AAA",
                "Reunión",
                "La directora de compras está descontenta con la calidad del último lote y evalúa otro proveedor.",
                "2025-05-28T15:00:00.000+0000",
            ],
            [
                "0025g00000No2AAA",
                "0035g00000XyZ2AAA",
                "Llamada",
                "Contento con los plazos.",
                "2025-06-10T11:00:00.000+0000",
            ],
        ],
    )


def dynamics() -> None:
    _xlsx(
        ROOT / "dynamics" / "contacts.xlsx",
        [
            "(Do Not Modify) Contact",
            "(Do Not Modify) Row Checksum",
            "(Do Not Modify) Modified On",
            "Full Name",
            "Email",
            "Mobile Phone",
            "Owner",
            "Relationship Type",
            "Annual Revenue",
            "Do not allow Emails",
        ],
        [
            [
                "2f1c0e6a-0000-4c1e-9b1a-000000000001",
                "x1",
                dt.datetime(2025, 6, 1),
                "Marta Ruiz",
                "marta.ruiz@example.com",
                "",
                "Tomás Vidal",
                "Customer",
                900,
                "Allow",
            ],
            [
                "2f1c0e6a-0000-4c1e-9b1a-000000000002",
                "x2",
                dt.datetime(2025, 6, 1),
                "John Smith",
                "john.smith@example.org",
                "+44 7700 900123",
                "Irene Campos",
                "Customer",
                2400,
                "Allow",
            ],
        ],
    )
    _write_csv(
        ROOT / "dynamics" / "cases.csv",
        [
            "(Do Not Modify) Case",
            "Case Number",
            "Case Title",
            "Customer",
            "Status",
            "Status Reason",
            "Origin",
            "Created On",
            "Resolved On",
        ],
        [
            [
                "8a1b-0001",
                "CAS-01001-X1Y2Z3",
                "Cobro duplicado",
                "Marta Ruiz",
                "Resolved",
                "Problem Solved",
                "Phone",
                "22/05/2025 17:10",
                "28/05/2025 10:00",
            ],
            [
                "8a1b-0002",
                "CAS-01002-X1Y2Z3",
                "La app falla al pagar",
                "John Smith",
                "Active",
                "In Progress",
                "Web",
                "19/06/2025 09:00",
                "",
            ],
            [
                "8a1b-0003",
                "CAS-01003-X1Y2Z3",
                "Sin fecha",
                "John Smith",
                "Active",
                "In Progress",
                "Web",
                "31/02/2025 09:00",
                "",
            ],
        ],
    )  # A bad row: 31 February.
    _write_csv(
        ROOT / "dynamics" / "notes.csv",
        ["Title", "Description", "Regarding", "Created On"],
        [["Llamada", "Dice que si vuelve a fallar el pago cancelará su cuenta.", "John Smith", "20/06/2025 18:00"]],
    )


def profile() -> None:
    (ROOT / "profile").mkdir(parents=True, exist_ok=True)
    (ROOT / "profile" / "tpv_profile.yaml").write_text(
        """\
# Source profile for the loyalty-card export of Tienda Sol's shop till (TPV): one row per visit,
# with what was bought or returned, an optional comment and the card's owner.
name: tpv
messages:
  customer_id: Tarjeta cliente
  timestamp: Fecha
  text: Comentario
  channel: {value: tienda}
  skip_empty: [Comentario]
events:
  - customer_id: Tarjeta cliente
    timestamp: Fecha
    type: Operación
    type_map: {venta: purchase, devolución: refund, anulación: order_cancelled}
    value: Importe
    channel: {value: tienda}
customers:
  customer_id: Tarjeta cliente
  segment: Club
  value: Gasto acumulado
""",
        encoding="utf-8",
    )
    _write_csv(
        ROOT / "profile" / "tpv_export.csv",
        ["Fecha", "Tarjeta cliente", "Operación", "Importe", "Comentario", "Club", "Gasto acumulado"],
        [
            ["03/05/2025 11:20", "laura.diaz@example.com", "venta", "45,90", "", "Oro", "1.210,40"],
            ["10/05/2025 17:45", "TPV-0007", "venta", "12,00", "", "Plata", "310,00"],
            [
                "11/05/2025 10:05",
                "TPV-0007",
                "devolución",
                "12,00",
                "La talla no era la que pone la etiqueta.",
                "Plata",
                "310,00",
            ],
            ["12/05/2025 19:30", "TPV-0008", "regalo", "0,00", "", "", ""],  # A bad row: no such event type.
            ["14/05/2025 12:00", "TPV-0009", "venta", "1.099,00", "Muy buena atención en tienda", "Oro", "5.400,00"],
        ],
        delimiter=";",
    )


def main() -> None:
    shopify()
    zendesk()
    freshdesk()
    intercom()
    whatsapp()
    reviews()
    nps()
    ga4()
    hubspot()
    salesforce()
    dynamics()
    profile()


if __name__ == "__main__":
    main()
