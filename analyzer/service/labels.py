"""Every code the pages show, in plain Spanish and English: severities, statuses, actions, event types,
reasons, urgent causes, outcomes, value tiers, the packaged rules, sentiment and history entries.

Served with the interface strings at ``/ui/i18n.json`` (``codes``); theme names come from the taxonomy
in force. ``tests/test_workspace_labels.py`` fails when a code of :mod:`analyzer.schema`, the rule
table, the reasons or the store has no label in either language, so a new code cannot reach the
page untranslated.
"""

from __future__ import annotations

__all__ = ["CODE_LABELS", "labels"]

L = dict[str, tuple[str, str]]  # code -> (es, en)

_SEVERITY: L = {"info": ("informativa", "info"), "low": ("baja", "low"), "medium": ("media", "medium"),
                "high": ("alta", "high"), "critical": ("crítica", "critical")}
_STATUS: L = {"open": ("abierta", "open"), "acknowledged": ("atendida", "acknowledged"),
              "resolved": ("resuelta", "resolved"), "dismissed": ("descartada", "dismissed"),
              "withdrawn": ("retirada", "withdrawn")}
_ACTION: L = {"priority_call": ("Llamada prioritaria", "Priority call"), "help_resource": ("Enviar ayuda", "Send help"),
              "relevant_offer": ("Oferta relevante", "Relevant offer"),
              "delivery_followup": ("Seguimiento del envío", "Delivery follow-up"),
              "thank_you_referral": ("Agradecer y pedir recomendación", "Thank and ask for a referral"),
              "win_back": ("Campaña de recuperación", "Win-back campaign")}
_EVENT: L = {
    "purchase": ("compra", "purchase"), "refund": ("devolución", "refund"),
    "order_cancelled": ("pedido cancelado", "order cancelled"), "login": ("inicio de sesión", "login"),
    "page_view": ("página vista", "page view"), "click": ("clic", "click"), "error": ("error", "error"),
    "campaign_sent": ("campaña enviada", "campaign sent"), "campaign_open": ("campaña abierta", "campaign opened"),
    "campaign_click": ("clic en campaña", "campaign click"), "ticket_opened": ("consulta abierta", "ticket opened"),
    "ticket_replied": ("consulta respondida", "ticket answered"),
    "ticket_resolved": ("consulta resuelta", "ticket resolved"), "nps": ("encuesta NPS", "NPS survey"),
    "csat": ("encuesta de satisfacción", "satisfaction survey"), "review": ("reseña", "review"),
}
_REASON: L = {
    "churn_intent": ("Dice que se quiere ir", "Says they want to leave"),
    "tone_shift": ("Su tono ha caído", "Their tone dropped"),
    "negative_tone": ("Tono negativo", "Negative tone"), "complaints": ("Quejas", "Complaints"),
    "purchase_drop": ("Compra menos", "Buying less"),
    "no_purchase_expected": ("Pausa de compra inusual", "Unusually long gap between purchases"),
    "activity_drop": ("Menos actividad", "Less activity"), "inactivity": ("Sin actividad", "No activity"),
    "channel_abandonment": ("Dejó un canal", "Stopped using a channel"),
    "repeated_errors": ("Errores repetidos", "Repeated errors"),
    "unanswered_tickets": ("Consultas sin respuesta a tiempo", "Tickets past the response deadline"),
    "campaign_nonresponse": ("Ignora las campañas", "Ignores campaigns"),
    "rating_drop": ("Su valoración ha caído", "Their rating fell"), "detractor": ("Detractor", "Detractor"),
    "refunds": ("Devoluciones o cancelaciones", "Refunds or cancellations"),
    "positive_tone": ("Tono positivo", "Positive tone"),
    "low_purchase_rate": ("Ritmo de compra bajo", "Low buying rhythm"),
    "recency": ("Tiempo desde su última actividad", "Time since their last activity"),
    "overdue": ("Tarda más de lo habitual en volver", "Later than usual to come back"),
    "frequency": ("Frecuencia de compra", "Purchase frequency"), "tenure": ("Antigüedad", "Time as a customer"),
    "spend": ("Gasto medio", "Average spend"),
    "p_no_purchase": ("Probabilidad de no comprar", "Chance of no purchase"),
}
_URGENT: L = {"churn_intent": ("Dice que se quiere ir", "Says they want to leave"),
              "tone_collapse": ("Su tono se ha hundido", "Their tone collapsed"),
              "overdue_ticket_valuable": ("Cliente valioso con una consulta fuera de plazo",
                                          "Valuable customer with an overdue ticket")}
_OUTCOME: L = {"retained": ("se queda", "retained"), "churned": ("se ha ido", "churned"),
               "unknown": ("no se sabe", "unknown"), "no_contact": ("sin contacto", "no contact"),
               "not_at_risk": ("no estaba en riesgo", "not at risk"), "other": ("otro", "other")}
_TIER: L = {"low": ("valor bajo", "low value"), "medium": ("valor medio", "medium value"),
            "high": ("valor alto", "high value"), "vip": ("VIP", "VIP"),
            "unknown": ("valor desconocido", "unknown value")}
_RULE: L = {
    "leaving_valuable_customer": ("Cliente valioso que se quiere ir", "Valuable customer who wants to leave"),
    "high_risk_valuable_customer": ("Cliente valioso en riesgo alto", "Valuable customer at high risk"),
    "overdue_tickets": ("Consultas fuera de plazo", "Overdue tickets"),
    "delivery_problem": ("Problema con un pedido", "Problem with an order"),
    "technical_trouble": ("Problemas técnicos", "Technical trouble"),
    "unhappy_rating": ("Valoración baja", "Unhappy rating"),
    "repeated_errors": ("Errores repetidos", "Repeated errors"),
    "support_experience": ("Mala experiencia con el soporte", "Bad support experience"),
    "price_or_refund": ("Precio, cobro o producto", "Price, billing or product"),
    "leaving_customer": ("Cliente que se quiere ir", "Customer who wants to leave"),
    "fading_customer": ("Cliente que se aleja en silencio", "Customer drifting away silently"),
    "any_risk": ("Riesgo sin causa concreta", "Risk without a single cause"),
    "happy_loyal_customer": ("Cliente fiel y contento", "Loyal, happy customer"),
    "win_back": ("Recuperación de clientes perdidos", "Win back lapsed customers"),
}
_SENTIMENT: L = {"negative": ("negativo", "negative"), "neutral": ("neutro", "neutral"),
                 "positive": ("positivo", "positive")}
_HISTORY: L = {"raised": ("alerta creada", "alert raised"), "assigned": ("asignada", "assigned"),
               "action": ("acción realizada", "action taken"), "outcome": ("resultado anotado", "outcome recorded"),
               **_STATUS}
_SCOPE: L = {"ingest": ("enviar datos", "send data"), "read": ("leer y atender alertas", "read and work alerts"),
             "admin": ("administrar", "administer")}
_JOB: L = {"queued": ("en cola", "queued"), "running": ("en curso", "running"), "done": ("terminado", "done"),
           "failed": ("fallido", "failed"), "deleted": ("borrado", "deleted"), "purged": ("purgado", "purged")}

_AUDIT_ACTION: L = {
    "create": ("creó", "created"), "update": ("cambió", "updated"), "acknowledge": ("atendió", "acknowledged"),
    "resolve": ("resolvió", "resolved"), "dismiss": ("descartó", "dismissed"), "assign": ("asignó", "assigned"),
    "action": ("anotó una acción en", "recorded an action on"),
    "outcome": ("anotó el resultado de", "recorded the outcome of"),
    "erase": ("borró", "erased"), "export": ("exportó", "exported"), "opt_out": ("excluyó del perfilado", "opted out"),
    "opt_in": ("volvió a incluir", "opted back in"), "revoke": ("revocó", "revoked"), "refit": ("reajustó", "refitted"),
    "sweep": ("revisó a todos en", "swept"),
    "backfill_complete": ("cerró la carga histórica de", "completed the back-fill of"),
    "download": ("descargó", "downloaded"), "read": ("consultó", "read"), "delete": ("borró", "deleted"),
    "ingest": ("envió", "sent"), "retry": ("reintentó", "retried"),
}
_AUDIT_RESOURCE: L = {
    "alert": ("una alerta", "an alert"), "alerts": ("las alertas", "the alerts"),
    "customer": ("un cliente", "a customer"),
    "customers": ("los clientes", "the customers"), "api_key": ("una clave de API", "an API key"),
    "job": ("un trabajo por lotes", "a batch job"), "model": ("el modelo de riesgo", "the risk model"),
    "settings_rules": ("las reglas", "the rules"), "settings_taxonomy": ("la taxonomía", "the taxonomy"),
    "overview": ("el resumen", "the overview"), "outcomes": ("los resultados", "the outcomes"),
    "alert_history": ("el historial de una alerta", "an alert's history"), "messages": ("mensajes", "messages"),
    "events": ("eventos", "events"), "webhook": ("un webhook", "a webhook"),
    "webhook_delivery": ("un envío de webhook", "a webhook delivery"),
}

_SOURCE: L = {
    "whatsapp": ("WhatsApp Business (chat exportado)", "WhatsApp Business (exported chat)"),
    "zendesk": ("Zendesk", "Zendesk"), "freshdesk": ("Freshdesk", "Freshdesk"), "intercom": ("Intercom", "Intercom"),
    "hubspot": ("HubSpot", "HubSpot"), "salesforce": ("Salesforce", "Salesforce"),
    "dynamics": ("Microsoft Dynamics", "Microsoft Dynamics"), "google-reviews": ("Reseñas de Google", "Google reviews"),
    "trustpilot": ("Trustpilot", "Trustpilot"), "nps": ("Encuesta NPS", "NPS survey"),
    "shopify": ("Pedidos de Shopify", "Shopify orders"), "ga4": ("Google Analytics 4", "Google Analytics 4"),
    "profile": ("Perfil YAML propio", "Own YAML profile"),
}

CODE_LABELS: dict[str, L] = {"severity": _SEVERITY, "status": _STATUS, "action": _ACTION, "event": _EVENT,
                             "reason": _REASON, "urgent": _URGENT, "outcome": _OUTCOME, "tier": _TIER, "rule": _RULE,
                             "sentiment": _SENTIMENT, "history": _HISTORY, "scope": _SCOPE, "job": _JOB,
                             "audit_action": _AUDIT_ACTION, "audit_resource": _AUDIT_RESOURCE, "source": _SOURCE}
"""Group -> code -> (Spanish, English)."""


def labels(lang: str) -> dict[str, dict[str, str]]:
    """Group -> code -> label in ``lang`` (es or en)."""
    i = 0 if lang == "es" else 1
    return {group: {code: pair[i] for code, pair in codes.items()} for group, codes in CODE_LABELS.items()}
