"""Interface strings of the support page, Spanish and English (served at /ui/i18n.json)."""

from __future__ import annotations

__all__ = ["STRINGS", "strings"]

STRINGS: dict[str, dict[str, str]] = {
    "es": {
        "title": "dark-feedback · alertas", "api_key": "Clave de API", "save": "Guardar", "feed": "Alertas en directo",
        "connected": "conectado", "disconnected": "desconectado", "customer": "Cliente", "risk": "Riesgo",
        "severity": "Gravedad", "action": "Acción recomendada", "why": "Por qué", "evidence": "Evidencias",
        "acknowledge": "Atender", "resolve": "Resolver", "dismiss": "Descartar", "note": "Nota (opcional)",
        "useful": "¿Útil?", "yes": "Sí", "no": "No", "status": "Estado",
        "sentiment_over_time": "Sentimiento en el tiempo",
        "timeline": "Historial", "recent_alerts": "Alertas recientes", "back": "Volver", "no_alerts": "Sin alertas",
        "open": "abierta", "acknowledged": "atendida", "resolved": "resuelta", "dismissed": "descartada",
        "withdrawn": "retirada", "message": "Mensaje", "event": "Evento", "opted_out": "Ha pedido no ser perfilado",
        "error": "Error", "need_key": "Introduce una clave de API con el permiso «read».",
        "priority_call": "Llamada prioritaria", "help_resource": "Enviar ayuda", "relevant_offer": "Oferta relevante",
        "delivery_followup": "Seguimiento del envío", "thank_you_referral": "Agradecer y pedir recomendación",
        "info": "info", "low": "baja", "medium": "media", "high": "alta", "critical": "crítica",
    },
    "en": {
        "title": "dark-feedback · alerts", "api_key": "API key", "save": "Save", "feed": "Live alerts",
        "connected": "connected", "disconnected": "disconnected", "customer": "Customer", "risk": "Risk",
        "severity": "Severity", "action": "Recommended action", "why": "Why", "evidence": "Evidence",
        "acknowledge": "Acknowledge", "resolve": "Resolve", "dismiss": "Dismiss", "note": "Note (optional)",
        "useful": "Useful?", "yes": "Yes", "no": "No", "status": "Status", "sentiment_over_time": "Sentiment over time",
        "timeline": "Timeline", "recent_alerts": "Recent alerts", "back": "Back", "no_alerts": "No alerts",
        "open": "open", "acknowledged": "acknowledged", "resolved": "resolved", "dismissed": "dismissed",
        "withdrawn": "withdrawn", "message": "Message", "event": "Event", "opted_out": "Opted out of profiling",
        "error": "Error", "need_key": "Enter an API key with the 'read' scope.",
        "priority_call": "Priority call", "help_resource": "Send help", "relevant_offer": "Relevant offer",
        "delivery_followup": "Delivery follow-up", "thank_you_referral": "Thank and ask for a referral",
        "info": "info", "low": "low", "medium": "medium", "high": "high", "critical": "critical",
    },
}


def strings(lang: str) -> dict[str, str]:
    return STRINGS.get(lang, STRINGS["en"])
