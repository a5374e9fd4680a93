"""Labelled PII cases for Spanish and English customer texts (used by tests and ``pii_eval``).

Written from the checklist in ``shared/pii-cases.md`` (Presidio's known gaps and other tools'
leaks): every entity type, its tricky forms, and texts that must stay untouched (order numbers,
SKUs, tracking codes, prices, dates, invalid cards, bad DNI letters, brand names). All personal
data here is invented; card numbers and IBANs are the public test numbers of card networks and
banks, DNI/NIE/CIF/NSS numbers are made up with valid check characters.

A case lists its entities as ``(type, exact substring)`` (first occurrence in the text) and the
substrings in ``keep`` that a correct redactor leaves exactly as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PII_CASES", "PiiCase"]


@dataclass(frozen=True)
class PiiCase:
    """One labelled text."""

    lang: str
    text: str
    entities: tuple[tuple[str, str], ...] = ()
    keep: tuple[str, ...] = ()

    def spans(self) -> list[tuple[str, int, int]]:
        """Expected ``(type, start, end)`` of each entity on ``text``."""
        out = []
        for etype, value in self.entities:
            start = self.text.find(value)
            if start < 0:
                raise ValueError(f"case entity {value!r} is not in its text {self.text!r}")
            out.append((etype, start, start + len(value)))
        return out

    @property
    def id(self) -> str:
        return f"{self.lang}:{self.text[:40]}"


def _c(lang: str, text: str, *entities: tuple[str, str], keep: tuple[str, ...] = ()) -> PiiCase:
    return PiiCase(lang, text, tuple(entities), keep)


PII_CASES: tuple[PiiCase, ...] = (
    # ------------------------------------------------------------------ Spanish: PERSON
    _c("es", "Hola, me llamo Rosa García López y quiero darme de baja.", ("PERSON", "Rosa García López")),
    _c("es", "me llamo rosa garcía y nadie me contesta", ("PERSON", "rosa garcía")),
    _c("es", "soy pilar, llevo tres días esperando el reembolso", ("PERSON", "pilar")),
    _c("es", "Por favor habla con Dolores, ella lleva mi caso.", ("PERSON", "Dolores")),
    _c(
        "es",
        "Me atendió Blanca Martínez Ruiz en la tienda de Sol y fue muy amable.",
        ("PERSON", "Blanca Martínez Ruiz"),
    ),
    _c("es", "El técnico Javier Fernández no se presentó a la cita.", ("PERSON", "Javier Fernández")),
    _c(
        "es",
        "mi nombre es juan carlos pérez sánchez, cliente desde 2015",
        ("PERSON", "juan carlos pérez sánchez"),
    ),
    _c("es", "La factura está a nombre de María José Gómez.", ("PERSON", "María José Gómez")),
    _c("es", "Ayer hablé con la señora Fernández y me colgó.", ("PERSON", "Fernández")),
    _c("es", "Gracias Marta por resolverlo tan rápido!", ("PERSON", "Marta")),
    # lower-case names in chats: after a cue, or a known first name and surname without one
    _c("es", "hablé con juan pérez ayer y no sabía nada", ("PERSON", "juan pérez"), keep=("ayer y no sabía nada",)),
    _c("es", "llamé a juan perez y no contestó", ("PERSON", "juan perez")),
    _c("es", "le escribí a carlos martínez por whatsapp", ("PERSON", "carlos martínez"), keep=("por whatsapp",)),
    _c("es", "maría del carmen garcía me atendió fatal", ("PERSON", "maría del carmen garcía")),
    _c("es", "mañana hablo con rocío vega otra vez", ("PERSON", "rocío vega"), keep=("otra vez",)),
    # ------------------------------------------------------------------ Spanish: EMAIL / URL / HANDLE
    _c("es", "Mi correo es rosa.garcia84@gmail.com, escribidme ahí.", ("EMAIL", "rosa.garcia84@gmail.com")),
    _c(
        "es",
        "escríbeme a juan punto perez arroba gmail punto com porfa",
        ("EMAIL", "juan punto perez arroba gmail punto com"),
    ),
    _c("es", "mi mail: maria_lopez arroba hotmail.es", ("EMAIL", "maria_lopez arroba hotmail.es")),
    _c(
        "es",
        "Contactad con soporte.cliente@empresa.es o en https://empresa.es/ayuda?id=99812",
        ("EMAIL", "soporte.cliente@empresa.es"),
        ("URL", "https://empresa.es/ayuda?id=99812"),
    ),
    _c(
        "es",
        "Os he escrito por Instagram: instagram.com/rosa.garcia.84",
        ("URL", "instagram.com/rosa.garcia.84"),
    ),
    _c("es", "@pilar_gomez91 me ha pasado lo mismo con el envío", ("HANDLE", "@pilar_gomez91")),
    # ------------------------------------------------------------------ Spanish: PHONE
    _c("es", "Llamadme al +34 612 34 56 78 por la tarde.", ("PHONE", "+34 612 34 56 78")),
    _c("es", "mi móvil es 612345678", ("PHONE", "612345678")),
    _c("es", "Tel: 0034 612 345 678", ("PHONE", "0034 612 345 678")),
    _c("es", "El fijo de casa es el 91 123 45 67.", ("PHONE", "91 123 45 67")),
    _c(
        "es",
        "Podéis llamar al 612-34-56-78 o al 612.345.678",
        ("PHONE", "612-34-56-78"),
        ("PHONE", "612.345.678"),
    ),
    _c("es", "Mi celular en Colombia es +57 300 123 4567", ("PHONE", "+57 300 123 4567")),
    _c("es", "Número de WhatsApp: +52 55 1234 5678, escríbanme", ("PHONE", "+52 55 1234 5678")),
    _c(
        "es",
        "[12/03/24, 10:15] +34 699 87 65 43: hola, ¿llegó mi paquete?",
        ("PHONE", "+34 699 87 65 43"),
        keep=("12/03/24, 10:15",),
    ),
    _c("es", "Llámame al (+34) 622 11 22 33", ("PHONE", "(+34) 622 11 22 33")),
    # ------------------------------------------------------------------ Spanish: DNI / NIE / CIF / NSS
    _c("es", "Mi DNI es 12345678Z", ("DNI", "12345678Z")),
    _c("es", "dni 12345678-z por si lo necesitáis", ("DNI", "12345678-z")),
    _c("es", "El NIF del titular: 87654321 X", ("DNI", "87654321 X")),
    _c("es", "DNI 45.678.912-S, titular de la línea", ("DNI", "45.678.912-S")),
    _c("es", "Tengo NIE X1234567L y no me dejan contratar", ("NIE", "X1234567L")),
    _c("es", "nie y-1234567-x", ("NIE", "y-1234567-x")),
    _c("es", "Facturad a la empresa, CIF B12345674.", ("CIF", "B12345674")),
    _c("es", "Mi número de la seguridad social es 28 12345678 40", ("NSS", "28 12345678 40")),
    # ------------------------------------------------------------------ Spanish: IBAN / CARD
    _c(
        "es",
        "Devolvedme el dinero a ES91 2100 0418 4502 0005 1332 cuanto antes",
        ("IBAN", "ES91 2100 0418 4502 0005 1332"),
    ),
    _c("es", "iban ES7921000813610123456789", ("IBAN", "ES7921000813610123456789")),
    _c("es", "me cobraron dos veces en la tarjeta 4111 1111 1111 1111", ("CARD", "4111 1111 1111 1111")),
    _c("es", "Tarjeta 5500-0000-0000-0004, caduca 09/27", ("CARD", "5500-0000-0000-0004"), keep=("09/27",)),
    # ------------------------------------------------------------------ Spanish: ADDRESS
    _c(
        "es",
        "Enviadlo a C/ Mayor 12, 3º B, 28013 Madrid. Gracias",
        ("ADDRESS", "C/ Mayor 12, 3º B, 28013 Madrid"),
    ),
    _c("es", "Mi dirección es Calle 45 #23-11, Bogotá", ("ADDRESS", "Calle 45 #23-11, Bogotá")),
    _c(
        "es",
        "vivo en avenida de la constitución 25, 2º izq",
        ("ADDRESS", "avenida de la constitución 25, 2º izq"),
    ),
    _c(
        "es",
        "Entregar en Paseo de Gracia 92, 08008 Barcelona",
        ("ADDRESS", "Paseo de Gracia 92, 08008 Barcelona"),
    ),
    _c(
        "es",
        "La dirección de envío es Carrera 7 No. 71-21, piso 3",
        ("ADDRESS", "Carrera 7 No. 71-21, piso 3"),
    ),
    # ------------------------------------------------------------------ Spanish: mixed
    _c(
        "es",
        "Soy Lucía Romero, DNI 00123456S, tel 655 44 33 22 y vivo en Calle Alcalá 45, Madrid.",
        ("PERSON", "Lucía Romero"),
        ("DNI", "00123456S"),
        ("PHONE", "655 44 33 22"),
        ("ADDRESS", "Calle Alcalá 45, Madrid"),
    ),
    # ------------------------------------------------------------------ Spanish: must stay untouched
    _c("es", "Mi pedido 612345678 no ha llegado todavía", keep=("612345678",)),
    _c(
        "es",
        "El número de pedido es 4000123456 y el seguimiento RR123456789ES",
        keep=("4000123456", "RR123456789ES"),
    ),
    _c("es", "Pagué 1.299,99 € por un portátil que no funciona", keep=("1.299,99 €",)),
    _c("es", "El coche cuesta 135.000 pesos y me cobraron 2.500.000", keep=("135.000", "2.500.000")),
    _c("es", "La entrega era el 12/03/2024 y hoy es 2024-03-20", keep=("12/03/2024", "2024-03-20")),
    _c("es", "El DNI 12345678A que me pedís no es válido", keep=("12345678A",)),
    _c("es", "Ese número de tarjeta 4111 1111 1111 1112 está mal", keep=("4111 1111 1111 1112",)),
    _c(
        "es",
        "Referencia SKU-88213-B y modelo XR-2000, localizador IB3456",
        keep=("SKU-88213-B", "XR-2000", "IB3456"),
    ),
    _c(
        "es",
        "Compré un iPhone 15 en Amazon y Movistar no me da cobertura",
        keep=("iPhone 15", "Amazon", "Movistar"),
    ),
    _c("es", "He esperado 3 horas en la calle y 2 días sin luz", keep=("3 horas", "calle", "2 días")),
    _c("es", "El vuelo IB6251 salió con 45 minutos de retraso", keep=("IB6251", "45 minutos")),
    _c("es", "la camisa rosa blanco y negro llegó con una mancha", keep=("rosa blanco",)),
    _c("es", "desde el 1 de julio cortes de luz cada semana", keep=("julio cortes",)),
    # ------------------------------------------------------------------ English: PERSON
    _c("en", "Hi, my name is John Smith and I want to cancel.", ("PERSON", "John Smith")),
    _c("en", "my name is john smith and nobody answers", ("PERSON", "john smith")),
    _c("en", "I spoke to Mary Johnson at the front desk.", ("PERSON", "Mary Johnson")),
    _c("en", "Thanks to Michael O'Brien for sorting out the refund!", ("PERSON", "Michael O'Brien")),
    _c("en", "i'm sarah and this is my third complaint", ("PERSON", "sarah")),
    _c("en", "Please ask for Mr. Williams when you call back", ("PERSON", "Williams")),
    _c("en", "The driver, Kevin Brown, left the parcel in the rain.", ("PERSON", "Kevin Brown")),
    _c("en", "Regards, Emily Clarke", ("PERSON", "Emily Clarke")),
    _c("en", "i spoke to sarah jones yesterday and she hung up", ("PERSON", "sarah jones"), keep=("yesterday",)),
    _c("en", "john smith from support never called back", ("PERSON", "john smith")),
    _c("en", "my sister sarah connor paid twice", ("PERSON", "sarah connor"), keep=("paid twice",)),
    # ------------------------------------------------------------------ English: EMAIL / URL / HANDLE
    _c("en", "Email me at john.smith1980@yahoo.co.uk please", ("EMAIL", "john.smith1980@yahoo.co.uk")),
    _c("en", "my email is john dot smith at gmail dot com", ("EMAIL", "john dot smith at gmail dot com")),
    _c("en", "write to jane_doe (at) outlook (dot) com", ("EMAIL", "jane_doe (at) outlook (dot) com")),
    _c(
        "en",
        "See my post https://twitter.com/johnsmith/status/123456789 about it",
        ("URL", "https://twitter.com/johnsmith/status/123456789"),
    ),
    _c("en", "@jsmith_77 same thing happened to me", ("HANDLE", "@jsmith_77")),
    # ------------------------------------------------------------------ English: PHONE
    _c("en", "Call me at (555) 123-4567 after 5pm.", ("PHONE", "(555) 123-4567"), keep=("5pm",)),
    _c("en", "My number is 555-123-4567", ("PHONE", "555-123-4567")),
    _c("en", "You can reach me on +44 20 7946 0958", ("PHONE", "+44 20 7946 0958")),
    _c("en", "text me on 07700 900123", ("PHONE", "07700 900123")),
    _c("en", "My cell is +1 415 555 2671.", ("PHONE", "+1 415 555 2671")),
    _c("en", "Call 1-800-555-0199 they said", ("PHONE", "1-800-555-0199")),
    _c("en", "I'm in Spain now, my phone is +34 612 34 56 78", ("PHONE", "+34 612 34 56 78")),
    # ------------------------------------------------------------------ English: cards, IBAN, ids
    _c("en", "They charged my card 4111-1111-1111-1111 twice", ("CARD", "4111-1111-1111-1111")),
    _c("en", "Amex 3782 822463 10005 was declined", ("CARD", "3782 822463 10005")),
    _c("en", "card number 6011111111111117", ("CARD", "6011111111111117")),
    _c("en", "Refund to GB82 WEST 1234 5698 7654 32 please", ("IBAN", "GB82 WEST 1234 5698 7654 32")),
    _c("en", "My German account DE89 3704 0044 0532 0130 00", ("IBAN", "DE89 3704 0044 0532 0130 00")),
    _c("en", "My Spanish ID is 12345678Z", ("DNI", "12345678Z")),
    # ------------------------------------------------------------------ English: ADDRESS
    _c(
        "en", "Deliver to 221B Baker Street, London NW1 6XE", ("ADDRESS", "221B Baker Street, London NW1 6XE")
    ),
    _c(
        "en",
        "I live at 742 Evergreen Terrace, Springfield.",
        ("ADDRESS", "742 Evergreen Terrace, Springfield"),
    ),
    _c(
        "en",
        "ship it to 1600 Pennsylvania Ave, Washington, DC 20500",
        ("ADDRESS", "1600 Pennsylvania Ave, Washington, DC 20500"),
    ),
    _c(
        "en", "Flat 3, 12 High Street was never reached by the courier", ("ADDRESS", "Flat 3, 12 High Street")
    ),
    # ------------------------------------------------------------------ English: mixed
    _c(
        "en",
        "This is David Miller, phone 555-987-6543, email d.miller@example.com",
        ("PERSON", "David Miller"),
        ("PHONE", "555-987-6543"),
        ("EMAIL", "d.miller@example.com"),
    ),
    # ------------------------------------------------------------------ English: must stay untouched
    _c("en", "Order #123456789 still not delivered", keep=("123456789",)),
    _c("en", "Tracking number 1Z999AA10123456784 shows no movement", keep=("1Z999AA10123456784",)),
    _c("en", "Amazon order 405-1234567-1234567 arrived broken", keep=("405-1234567-1234567",)),
    _c("en", "I paid $1,299.99 for this and it broke on 03/12/2024", keep=("$1,299.99", "03/12/2024")),
    _c("en", "Invalid card 1234 5678 9012 3456 was rejected, fine", keep=("1234 5678 9012 3456",)),
    _c("en", "Flight UA 1234 delayed 3 hours, gate B22", keep=("UA 1234", "3 hours", "B22")),
    _c("en", "My iPhone 14 Pro from Best Buy stopped charging", keep=("iPhone 14 Pro", "Best Buy")),
    _c("en", "Item SKU 88213-B costs 49.99 and ships in 2-3 days", keep=("88213-B", "49.99", "2-3 days")),
    _c("en", "please mark brown items as returned", keep=("mark brown",)),
    _c("en", "the grace period is over and the bill is due", keep=("grace period", "bill")),
)
