"""Churn intent: a customer saying they are leaving, in Spanish or English, with the words that say so.

The detector reads the (redacted) text with bilingual cue patterns of the ways people announce
that they leave:

- ``leave_service``: "me doy de baja", "cancel my account", "close my account", "os dejo";
- ``never_again``: "nunca más", "no vuelvo a volar con", "never flying with you again", "last time I fly";
- ``switch``: "me paso a X", "a partir de ahora con X", "switching to X", "taking my business elsewhere";
- ``warn_others``: "no viajéis con", "compañía a evitar", "don't fly X", "avoid X";
- ``lost_customer``: "habéis perdido un cliente", "you lost a customer".

A cue that is negated just before it ("no me voy a dar de baja", "I'm not switching") does not
count. A cue fires with :attr:`ChurnIntentDetector.pattern_probability`; a learnt score (the
``churn_intent`` theme's probability, computed on the message's embedding by the theme model) can
fire on its own above :attr:`ChurnIntentDetector.model_threshold`, for the forms no cue covers.
Each :class:`IntentMatch` carries its evidence: the span of text, its character offsets, which
cue family (or the model) found it.

Pure Python and ``re``: importing this module loads no model and never imports torch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from analyzer.errors import ConfigError

__all__ = ["CHURN_INTENT", "CUE_FAMILIES", "ChurnIntentDetector", "IntentMatch", "find_churn_cue"]

#: The theme id the detector reports under (the taxonomy's id: the foresight stage reads it from ``themes``).
CHURN_INTENT = "churn_intent"


@dataclass(frozen=True)
class IntentMatch:
    """A detected churn intent with the text that shows it.

    ``source`` is ``"pattern"`` (a cue phrase, named by ``cue``) or ``"model"`` (the learnt
    score alone; ``cue`` is then ``"model"`` too). ``start``/``end`` are character offsets in
    the text that was analysed (the redacted text in the pipeline).
    """

    intent: str
    probability: float
    evidence: str
    start: int
    end: int
    source: str
    cue: str


# Words between a verb and its object ("nunca MÁS volaré CON ellos"): at most a few short words.
_GAP = r"(?:\s+\S+){0,3}?"
_SP = r"\s+"
# A proper name (a brand): capitalised even when the rest of the pattern ignores case.
_NAME = r"(?-i:[A-ZÁÉÍÓÚÑ][\w&áéíóúñ]+)"
# A competitor or another provider: a redacted handle, a capitalised name, "la competencia", "otra compañía".
_OTHER_ES = (r"(?:\[HANDLE\]|@\w+|la\s+competencia|otras?\s+(?:compa[ñn][ií]as?|aerol[ií]neas?|empresas?|"
             r"operadoras?|marcas?|bancos?|opci[oó]n(?:es)?|alternativas?)|" + _NAME + ")")
_OTHER_EN = (r"(?:\[HANDLE\]|@\w+|(?:an|some|a\s+different|another|other)\s+(?:airlines?|carriers?|companies|company|"
             r"banks?|providers?|brands?|services?)|the\s+competition|your\s+competitors?|"
             + _NAME + r"(?:\s+" + _NAME + r")?)")
# "otra aerolínea", "otra compañía", ...: another provider, named by what it is.
_ANOTHER_ES = r"otra\s+(?:aerol[ií]nea|compa[ñn][ií]a|alternativa|opci[oó]n|empresa)\b"
_TRAVEL_ES = r"(?:volar|viajar|comprar|contratar|reservar|usar|elegir|confiar|pisar|subir(?:me)?|ir|coger)"
_TRAVEL_EN = (r"(?:fly(?:ing)?|travel(?:l?ing)?|book(?:ing)?|us(?:e|ing)|utili[sz](?:e|ing)|choos(?:e|ing)|buy(?:ing)?|"
              r"shop(?:ping)?|go(?:ing)?\s+with|giv(?:e|ing)\s+(?:you|them)|recommend(?:ing)?)")

# (family, pattern, negatable): a negatable cue does not count when a negation comes just before it.
_CUES: tuple[tuple[str, str, bool], ...] = (
    # -- leave the service / close the account --------------------------------------------------
    ("leave_service", r"\b(?:me\s+(?:doy|di|daré|dare|voy\s+a\s+dar|he\s+dado)|darme|dado|darnos|nos\s+damos)"
                      r"\s+de\s+baja\b", True),
    ("leave_service", r"\b(?:quiero|solicito|pido|tramitar|tramitad|tramiten|dadme|denme|dame|dar)\s+(?:de\s+)?"
                      r"(?:la\s+)?baja\b", True),
    ("leave_service", r"\b(?:cancel(?:ar|o|ad|en|é|e)|cerrar|cierro|cerrad|cierren|eliminar|elimino|borrar|borro|"
                      r"anular|anulo|anulad|dar\s+de\s+baja)\s+(?:mi|mis|la|nuestra|nuestras)\s+"
                      r"(?:cuentas?|suscripci[oó]n|suscripciones|tarjeta\s+de\s+fidelizaci[oó]n|contrato|"
                      r"l[ií]nea|membres[ií]a|abono|tarjeta\s+\w+\s+plus)\b", True),
    # "os dejo" is leaving, "os dejo otra oferta / el enlace" is handing something over.
    ("leave_service", r"\b(?:os|les|te)\s+dejo\b(?!\s+(?:otr[ao]s?|una?|el|la|los|las|aqu[ií]|mis?|est[ea]s?|"
                      r"\d|\[URL\]))|\bme\s+voy\s+de\s+(?:" + _NAME + r"|\[HANDLE\]|vuestra|su|esta)\b|"
                      r"\bos\s+abandono\b|\bhasta\s+nunca\b", True),
    ("leave_service", r"\b(?:cancel+(?:ing|ed)?|clos(?:e|ing|ed)|delet(?:e|ing|ed)|terminat(?:e|ing|ed)|"
                      r"deactivat(?:e|ing|ed)|disabl(?:e|ing)|end(?:ing)?|remov(?:e|ing)|stop|shut(?:ting)?\s+down|"
                      r"clos(?:e|ing)\s+(?:down|out)|discontinu(?:e|ing)|invalidat(?:e|ing)|inactivat(?:e|ing)|"
                      r"get\s+rid\s+of)\s+(?:of\s+)?(?:all\s+(?:of\s+)?)?(?:(?:my|our|this|the|an|his|her)\s+)?"
                      r"(?:\w+\s+)?(?:accounts?|membership|subscription|credit\s+card)\b(?!\s+(?:number|details|"
                      r"balance|information|info|limit|settings|transfer))", True),
    ("leave_service", r"\b(?:don'?t|do\s+not|no\s+longer)\s+want\s+(?:this|my|the)\s+account\b|"
                      r"\bmake\s+my\s+account\s+go\s+away\b|\bfinish(?:ing)?\s+up\s+with\s+this\s+account\b", False),
    ("leave_service", r"\b(?:my|our|this)\s+account\s+(?:to\s+be\s+|be\s+)?(?:deleted|closed|terminated|"
                      r"cancell?ed|removed)\b", True),
    ("leave_service", r"\bno\s+longer\s+(?:want|wish|need)\s+(?:to\s+(?:be\s+a\s+customer|keep|have|use)|"
                      r"(?:this|my|the)\s+account)\b|\b(?:i'?m|i\s+am|we'?re|we\s+are)\s+(?:so\s+|officially\s+)?"
                      r"done\s+with\s+(?:you|u|y'?all|them|\[HANDLE\]|this\s+(?:airline|company|bank)|"
                      + _NAME + r")\b|"
                      r"\bdone\s+(?:flying|with\s+you)\b", False),
    ("leave_service", r"\b(?:i'?m|i\s+am|we'?re|we\s+are)\s+(?:so\s+|officially\s+|just\s+|totally\s+)?"
                      r"done(?:\s+here)?\s*(?:[.!]|$)", False),
    # -- never again ------------------------------------------------------------------------------
    ("never_again", r"\bno\s+way\s+(?:that\s+)?(?:i|we)(?:'m|\s+am|'re|\s+are|'ll|\s+will)\s+(?:ever\s+)?"
                    r"(?:getting|going|get|go|fly(?:ing)?)\s+(?:back\s+)?(?:on|with)\b", False),
    ("never_again", r"\bloyal\b(?:\s+\S+){0,3}?\s+(?:anymore|any\s+more|no\s+more)\b|"
                    r"(?<!\w)#?last\s+#?(?:flight|trip)\s+#?(?:ever|with|on)\b", False),
    ("never_again", r"\b(?:intentar|intento|intentar[ée]|procurar[ée]|procuro)\s+no\s+(?:volver\s+a\s+)?"
                    r"(?:volar|viajar|comprar)\s+(?:m[aá]s\s+)?con\b|\bcon\s+qui[eé]n\s+no\s+(?:viajar|volar)\b|"
                    r"\bs[oó]lo\s+(?:viajo|vuelo|compro)\s+con\s+\S+\s+si\s+no\s+(?:tengo|hay|me\s+queda)\s+"
                    r"(?:otra|otro|m[aá]s)\b", False),
    ("never_again", r"\bnunca\s+m[aá]s\b|\bnunca\s+mais\b|\bnunca\s+jam[aá]s\b|#nuncam[aá]s\b|"
                    r"(?<![aeií]do\s)\bnunca\s+con\s+(?:\[HANDLE\]|ellos|vosotros|ustedes|" + _NAME + r")", False),
    ("never_again", r"\bno\s+(?:gastar[ií]a|gastar[ée]|gasto|pagar[ée]|pagar[ií]a)\s+(?:ni\s+)?(?:un\s+)?"
                    r"(?:dinero|euro|duro|c[ée]ntimo|peso|d[oó]lar)\w*\s+(?:m[aá]s\s+)?(?:en|con)\b", False),
    ("never_again", r"\b(?:jam[aá]s|nunca)" + _GAP + _SP + r"(?:volver[ée]|vuelvo|volveremos|volvemos|"
                    r"volar[ée]|viajar[ée]|comprar[ée]|usar[ée]|contratar[ée]|elegir[ée]|pisar[ée]|"
                    r"volar[ií]a|viajar[ií]a)\b", False),
    ("never_again", r"\bno\s+(?:\w+\s+){0,2}?(?:vuelvo|volver[ée]|volvemos|volveremos|volver[ií]a|"
                    r"pienso\s+volver|vamos\s+a\s+volver|voy\s+a\s+volver|me\s+vuelve|nos\s+vuelve|"
                    r"me\s+volver[aá]n|nos\s+volver[aá]n|me\s+vuelven)\s+(?:\w+\s+)?(?:a\s+)?"
                    r"(?:" + _TRAVEL_ES + r"|engañar|ver|tener|saber|comprar|pasar|coger|elegir)\b", False),
    ("never_again", r"\bno\s+(?:volver[ée]|volveremos|vuelvo|volvemos)(?:\s+(?:nunca|jam[aá]s|m[aá]s))?\s*[.!…]|"
                    r"\bno\s+(?:me|nos)\s+(?:volv[ée]is|vuelven|volver[ée]is|volver[aá]n)\s+a\s+ver\b|"
                    r"\bse\s+acab[oó]\s+(?:volar\s+con\s+|viajar\s+con\s+)?(?:\[HANDLE\]|" + _NAME + r")", False),
    ("never_again", r"\bno\s+(?:lo|la|los|las)\s+(?:volver[ée]|vuelvo|volveremos)\s+a\s+(?:hacer|usar|"
                    r"elegir|coger|contratar|repetir)\b", False),
    ("never_again", r"\b(?:[uú]ltima|[uú]nica)\s+vez\s+(?:que\s+(?:vuelo|viajo|compro|uso|reservo|elijo|"
                    r"contrato|confío|confio)|con\s+(?:ellos|vosotros|ustedes|uds|\[HANDLE\]|" + _NAME + r"))\b|"
                    r"\b[uú]ltima\s+vez\s+con\b|\bpor\s+[uú]ltima\s+vez\b", False),
    ("never_again", r"\b(?:dej[eé]|hemos\s+dejado|he\s+dejado|dejar[ée]|dejaremos|(?:voy|vamos)\s+a\s+dejar)\s+de\s+"
                    r"(?:volar|viajar|comprar|usar|confiar|contratar)\b",
     True),
    ("never_again", r"\bnever\s+(?:ever\s+)?(?:(?:be|want\s+to|have\s+to|going\s+to|to)\s+)?" + _TRAVEL_EN
                    + r"\b(?:\s+\S+){0,5}?\s+again\b|\bnever\s+again\b", False),
    ("never_again", r"\b(?:won'?t|will\s+not|wont|will\s+never|would\s+never|'ll\s+never|not\s+going\s+to|"
                    r"never\s+going\s+to|never\s+gonna|ain'?t\s+gonna)\s+(?:be\s+)?(?:ever\s+)?"
                    + _TRAVEL_EN + r"\b(?:\s+\S+){0,4}?\s+(?:again|anymore|any\s+more|ever)\b", False),
    ("never_again", r"\b(?:won'?t|will\s+never|would\s+never|'ll\s+never|will\s+not)\s+(?:be\s+)?"
                    r"(?:fly(?:ing)?|book(?:ing)?)\s+(?:with\s+)?(?:you|u|y'?all|them|" + _NAME + r")\b", False),
    ("never_again", r"\b(?:the\s+)?last\s+time\s+(?:i|we)(?:'ll|\s+will)?\s+(?:ever\s+)?"
                    r"(?:fly|book|use|travel|choose|buy|shop)\b|\bfor\s+the\s+last\s+time\b|"
                    r"\b(?:1st|first)\s+time,?\s+last\s+time\b|\bour\s+last\s+time\s+on\b", False),
    ("never_again", r"\b(?:won'?t|wont|will\s+not|never\s+going\s+to)\s+be\s+(?:back|returning|coming\s+back)\b",
     False),
    ("never_again", r"\bno\s+(?:more|longer)\s+(?:fly(?:ing)?|book(?:ing)?|us(?:e|ing)|loyal|be\s+loyal)\b|"
                    r"\bwon'?t\s+be\s+loyal\b", False),
    ("never_again", r"(?<!\w)#never\s*again\b|#(?:wont|won'?t|will\s*never|never)\s*(?:fly|book|use)\w*|"
                    r"\bnever\W+(?:ever\W+)?(?:fly(?:ing)?|book(?:ing)?)\W+(?:\S+\W+){0,3}?again\b|"
                    r"\bn(?:e)?v(?:e)?r\s+(?:fly|book)\s+(?:w/\s?u|with\s+(?:you|u))\s+again\b", False),
    ("never_again", r"\b(?:(?:i'?m|i\s+am|we'?re|we\s+are)\s+not|nor\s+will\s+(?:i|we)|(?:i|we)\s+won'?t)\s+"
                    r"(?:be\s+)?(?:ever\s+|evr\s+)?" + _TRAVEL_EN + r"\b(?:\s+\S+){0,4}?\s+(?:again|anymore|any\s+more|"
                    r"any\s*time\s+soon)\b", False),
    ("never_again", r"\b(?:not|never)\s+(?:to\s+)?want\s+to\s+(?:fly|book|travel|use)\s+(?:with\s+)?\S+(?:\s+\S+)?\s+"
                    r"(?:ever|again|anymore)\b|\bno\s+more\s+(?:\[HANDLE\]|" + _NAME + r")(?:\s+(?:for\s+(?:me|us)|"
                    r"in\s+my\s+future|flights?))?\s*(?:[.!,#]|$)|\b(?:loyal|faithful)\b[^.!?]{0,60}?\bbut\s+no\s+more\b",
     False),
    ("never_again", r"\b(?:spend(?:ing)?|giv(?:e|ing))\s+(?:any\s*more|another\s+(?:dime|cent|penny|dollar))\s+"
                    r"(?:of\s+my\s+)?(?:money\s+)?(?:with|on|to)\s+(?:you|u|them|y'?all)\b|"
                    r"\b(?:i'?d|i\s+would)\s+rather\s+(?:walk|drive|swim|take\s+(?:a|the)\s+(?:bus|train))\b", False),
    ("never_again", r"\bno\s+(?:me|nos)\s+(?:ver[eé]is|ver[aá]n|ven)\s+m[aá]s\b|"
                    r"\bno\s+(?:cont[eé]is|cuenten|cuentes)\s+(?:m[aá]s\s+)?conmigo\b", False),
    ("never_again", r"\b(?:ya\s+)?no\s+(?:vuelo|viajo|compro|reservo|contrato)\s+m[aá]s\s+(?:con|en|a)\s+"
                    r"(?:vosotros|ustedes|ellos|\[HANDLE\]|" + _NAME + r"|esta|esa|este|ese|la|el|vuestra|vuestro|"
                    r"su)\b|"
                    r"\bno\s+pienso\s+volver(?:\s+(?:nunca|jam[aá]s|m[aá]s))?\s*[.!…]|\bno\s+vuelvo\s+ni\s+loc[oa]\b|"
                    r"\b[uú]ltima\s+vez\s+(?:volando|viajando|comprando|reservando)\s+con\b|"
                    r"\b(?:nunca|jam[aá]s)\s+(?:volar|viajar|comprar|reservar|elegir|contratar)\s+(?:con|a|en)\b",
     False),
    ("never_again", r"\bno\s+(?:volver[eé]is|volver[aá]n)\s+a\s+(?:ver|tener|cobrar(?:me|nos)?)\s+(?:ni\s+)?"
                    r"(?:un|una|mi|mis|nuestro|nuestra)\b|\b(?:(?:pod[eé]is|pueden)\s+despedir(?:os|se)|(?:os|se)\s+"
                    r"(?:pod[eé]is|pueden)\s+despedir)\s+de\s+"
                    r"(?:m[ií]|nosotros)\b|\bdesp[ií]d(?:anse|eos|ete)\s+de\s+(?:m[ií]|nosotros)\b", False),
    # -- switching to a competitor ------------------------------------------------------------------
    ("switch", r"\b(?:me|nos)\s+(?:paso|pasamos|pasar[ée]|pasaremos|cambio|cambiamos|cambiar[ée])\s+(?:a|con)\s+"
               + _OTHER_ES + r"|"
               r"(?<!\w)(?:me|nos)\s+(?:voy|vamos|ir[ée]|iremos)\s+(?:con\s+" + _OTHER_ES + r"|a\s+la\s+competencia\b)",
     True),
    ("switch", r"\b(?:cambiar(?:me|nos)?|pasar(?:me|nos)?)\s+(?:de\s+)?(?:compa[ñn][ií]a|aerol[ií]nea|"
               r"operadora|banco|empresa|proveedor)\b|\bcambiar(?:me|nos)?\s+a\s+la\s+competencia\b", True),
    ("switch", r"\bbusc(?:o|ar[ée]|aremos|ando|amos)\s+otra\s+(?:compa[ñn][ií]a|aerol[ií]nea|empresa|operadora|"
               r"opci[oó]n|alternativa)\b", False),
    ("switch", r"\ba\s+partir\s+de\s+ahora\b(?:\s+\S+){0,4}?\s+(?:(?:con|en|por)\s+)?" + _OTHER_ES, False),
    ("switch", r"\b(?:prefiero|preferir[ée]|mejor)\s+(?!que\b)(?:\w+\s+){0,6}?(?:con|por|x)\s+" + _OTHER_ES,
     False),
    ("switch", r"\b(?:elijo|eleg[ií]|elej[ií]|escog[ií]|escojo)\s+(?:otra\s+opci|otra\s+compa[ñn][ií]a|"
               r"\[HANDLE\]|" + _NAME + r")\b|\bhay\s+(?:otras\s+)?alternativas\b|\bhay\s+otras\s+compa[ñn][ií]as\b",
     False),
    ("switch", r"\bswitch(?:ing|ed)?\s+(?:over\s+)?(?:to\s+" + _OTHER_EN
               + r"|airlines|carriers|banks|providers|companies)\b|"
               r"\btime\s+to\s+switch\b|\b(?:take|taking|took)\s+(?:my|our)\s+(?:business|money)\s+elsewhere\b",
     True),
    ("switch", r"\b(?:fly(?:ing)?|book(?:ing)?|go(?:ing)?)\s+(?:with\s+)?(?:an?other|other|a\s+different)\s+"
               r"(?:airlines?|carriers?)\s+(?:from\s+now\s+on|next\s+time|in\s+the\s+future)\b|"
               r"\b(?:next|future)\s+(?:flights?|trips?)\s+(?:will\s+be\s+)?(?:on|with)\s+(?:an?other|other|"
               r"a\s+different)\s+(?:airlines?|carriers?)\b|\b(?:look(?:ing)?\s+for|try(?:ing)?|choos(?:e|ing))\s+"
               r"(?:an?other|a\s+different)\s+(?:\"?go-to\"?\s+)?(?:airlines?|airliner|carriers?|banks?|providers?)\b",
     True),
    ("switch", r"\b(?:from\s+now\s+on|in\s+the\s+future)\s*,?\s+(?:i'?ll|i\s+will|we'?ll|we\s+will)\s+"
               r"(?:fly|book|go\s+with|use)\b", True),
    ("switch", r"\b(?:stick(?:ing)?|stay(?:ing)?)\s+(?:with|to|the)\s+" + _OTHER_EN
               + r"\s+(?:in\s+the\s+future|from\s+now\s+on)\b|"
               r"\b(?:next\s+time|from\s+now\s+on|in\s+the\s+future)\s*,?\s+(?:i'?ll\s+|i\s+will\s+|we'?ll\s+|"
               r"we\s+will\s+|i'?m\s+)?(?:fly(?:ing)?|book(?:ing)?|go(?:ing)?\s+with)\s+(?:with\s+)?" + _OTHER_EN
               + r"|\bready\s+to\s+(?:just\s+)?(?:go|switch|move|fly)\s+(?:with|to)\s+(?:#\w+|" + _OTHER_EN + r")",
     True),
    ("switch", r"\b(?:choos(?:e|ing)|(?:will|can|could|'ll|gonna)\s+(?:travel|fly|book|go\s+with))\s+(?:with\s+|on\s+)?"
               r"(?:an?other|other|different)\s+(?:airlines?|carriers?|companies|providers?)\b|"
               r"\btak(?:e|ing)\s+my\s+(?:\w+\s+)?(?:business|money|status|loyalty|miles)\s+(?:to|elsewhere)\b", True),
    ("switch", r"\bhay\s+que\s+(?:viajar|volar|ir)\s+(?:por|con|en)\s+" + _OTHER_ES, False),
    ("switch", r"\b(?:me|nos)\s+(?:he|hemos)\s+(?:pasado|cambiado)\s+a\s+" + _OTHER_ES + r"|"
               r"\b(?:me|nos)\s+(?:pas[eé]|cambi[eé])\s+a\s+" + _OTHER_ES, True),
    ("switch", r"\b(?:viajar[ée]|volar[ée]|viajaremos|volaremos|comprar[ée]|reservar[ée]|ir[ée]|iremos)\s+"
               r"(?:\w+\s+){0,3}?(?:con|en|por)\s+(?:otras?\s+(?:compa[ñn][ií]as?|aerol[ií]neas?|empresas?|"
               r"operadoras?)|la\s+competencia)\b", True),
    ("switch", r"\b(?:will\s+be|'ll\s+be|be)\s+(?:on|with)\s+(?:a\s+different|another|other)\s+"
               r"(?:airlines?|carriers?)\b|"
               r"\b(?:choose|choosing|purchas(?:e|ing)|buy(?:ing)?|book(?:ing)?|fly(?:ing)?)\s+(?:\w+\s+){0,3}?"
               r"(?:from|with)\s+(?:a|your)\s+competitors?\b", True),
    ("switch", r"\b(?:a\s+la\s+pr[oó]xima(?:\s+vez)?|la\s+pr[oó]xima\s+vez)\s*,?\s+(?:\w+\s+){0,2}?"
               r"(?:vuelo|viajo|compro|reservo|volar[ée]|viajar[ée]|me\s+voy|ir[ée])\s+(?:con|en|por)\s+" + _OTHER_ES,
     True),
    ("switch", r"\b(?:me|nos)\s+(?:cambio|cambiamos|cambiar[ée]|voy\s+a\s+cambiar)\s+de\s+(?:compa[ñn][ií]a|"
               r"aerol[ií]nea|operadora|banco|empresa|proveedor|tienda)\b", True),
    # -- telling others to stay away ------------------------------------------------------------------
    ("warn_others", r"\b(?:no|nunca|jam[aá]s)\s+(?:viajen|vuelen|viaj[eé]is|vol[eé]is|volemos|viajemos|compren|"
                    r"compr[eé]is|us[eé]is|usen|contraten|contrat[eé]is|reserven|reserv[eé]is|elijan|"
                    r"eli?j[aá]is)\b", False),
    ("warn_others", r"\b(?:compa[ñn][ií]a|aerol[ií]nea|empresa|marca)\s+(?:\w+\s+)?a\s+evitar\b|"
                    r"\b(?:evitad|eviten|evitadla|evitenla|evítenla|evitadlos|evitemos)\s+(?:a\s+)?"
                    r"(?:\[HANDLE\]|" + _NAME + r"|esta|esa|la|las|los|ese|este|volar|viajar)\b|"
                    r"\b(?:yo\s+)?(?:los|las|la|le|les)\s+evito\b", False),
    ("warn_others", r"\b(?:olv[ií]d(?:ate|ese|ense|aos|aros|adse|ados))\s+de\s+(?:\[HANDLE\]|" + _NAME + r"|esta|esa|"
                    r"volar|viajar)\b|\bno\s+(?:se\s+|os\s+|te\s+|les\s+)?(?:la|lo|los|las)\s+recomiendo\b|"
                    r"\bno\s+recomiendo\b|\bno\s+(?:os|les|te)\s+recomiendo\b|\bno\s+lo\s+hagan\s+(?:con|por|en)\b|"
                    r"\b#?no\s*vueles\s*con\w*\b|#novuelescon\w*", False),
    ("warn_others", r"\b(?:don'?t|do\s+not|never|dont)\s+(?:ever\s+)?(?:fly|book|travel|choose)\s+"
                    r"(?:with\s+)?(?:\[HANDLE\]|" + _NAME + r"|them|this\s+airline|this\s+company)\b", False),
    ("warn_others", r"\b(?:avoid|stay\s+away\s+from)\s+(?:\[HANDLE\]|" + _NAME + r"|them|this\s+airline|"
                    r"this\s+company)\s*(?:at\s+all\s+costs|like\s+the\s+plague)?\b|"
                    r"\bi\s+suggest\s+others\s+do\s+the\s+same\b", True),
    ("warn_others", r"\b(?:tell(?:ing)?|warn(?:ing)?)\s+(?:everyone|every\s*body|people|others|friends|all)\b"
                    r"(?:\s+\S+){0,3}?\s+(?:never|not)\s+to\s+(?:fly|use|book|travel)\b|"
                    r"\b(?:want|going|need)\s+to\s+avoid\s+(?:this\s+|the\s+|your\s+)?(?:airline|company|you)\b|"
                    r"\b(?:airline|company)\s+(?:i|we)\s+(?:know|will|need)\s+to\s+avoid\b", False),
    ("warn_others", r"\b(?:huid|huyan|h[uú]yanle|escapad|escapen|corred|corran)\s+de\s+(?:\[HANDLE\]|" + _NAME
                    + r"|esta|esa|este|ese|ellos|ellas|la|el|los|las)\b", False),
    ("warn_others", r"\b(?:traten\s+de|tratad\s+de|intenten|intentad|procuren|procurad)\s+(?:usar|volar\s+con|"
                    r"viajar\s+con|elegir|buscar)\s+" + _ANOTHER_ES
                    + r"|\b(?:buscad|busquen|usad|usen|elegid|elijan)\s+" + _ANOTHER_ES
                    + r"|\bbuscar\s+" + _ANOTHER_ES + r"\s+antes\s+que\b", True),
    # -- a customer lost ------------------------------------------------------------------------------
    ("lost_customer", r"\b(?:(?:hab[eé]is|han|has)\s+perdido|perd[eé]is|pierden|perdieron|perdisteis|perdiste|"
                      r"acab(?:an|[aá]is|as)\s+de\s+perder|van\s+a\s+perder)\s+(?:a\s+)?(?:un|una|otro|otra|"
                      r"a\s+un)\s+(?:\w+\s+)?(?:cliente|clienta|pasajer[oa])\b|\bun\s+cliente\s+menos\b", False),
    ("lost_customer", r"\b(?:about\s+to|going\s+to|gonna|you'?ll|you\s+will|will)\s+lose\s+(?:my|our|a|another)\s+"
                      r"(?:\w+\s+)?(?:business|customers?|client)\b", False),
    ("lost_customer", r"\b(?:(?:have|has|just|officially)\s+)*lost\s+(?:a|another|my|our|one|very\s+loyal|"
                      r"(?:a\s+)?(?:very\s+)?loyal)\s+(?:\w+\s+)?(?:customers?|business|flyer|client)\b|"
                      r"\byou\s+lost\s+(?:me|us)\b", False),
)
# ``\b`` fails between a space and "[HANDLE]" (two non-word characters): the cues use "not inside a word".
_EDGE = r"(?:(?<!\w)|(?!\w))"
_COMPILED = tuple((family, re.compile(pattern.replace(r"\b", _EDGE), re.IGNORECASE), negatable)
                  for family, pattern, negatable in _CUES)
_NEGATION_BEFORE = re.compile(r"(?:\b(?:no|not|never|nunca|jam[aá]s|ni)\b|n't|n´t|n’t)[^\w,.;:!?]*"
                              r"(?:\w+[^\w,.;:!?]+){0,3}$",
                              re.IGNORECASE)
#: The cue families, in the order they are tried.
CUE_FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(family for family, _, _ in _CUES))


def find_churn_cue(text: str) -> tuple[str, int, int] | None:
    """The earliest churn cue in ``text`` that is not negated: ``(family, start, end)``, or None."""
    best: tuple[str, int, int] | None = None
    for family, rx, negatable in _COMPILED:
        for m in rx.finditer(text):
            if negatable and _NEGATION_BEFORE.search(text[max(0, m.start() - 24): m.start()]):
                continue
            if best is None or m.start() < best[1]:
                best = (family, m.start(), m.end())
            break
    return best


class ChurnIntentDetector:
    """Bilingual churn-intent detector: cue patterns, optionally backed by a learnt score.

    ``pattern_probability`` is the probability reported for a cue match (its measured precision
    on training data, see the themes model card); ``model_threshold`` the learnt score above which
    the model alone fires (None: cues only).
    """

    def __init__(self, *, pattern_probability: float = 0.9, model_threshold: float | None = None) -> None:
        if not 0.0 < pattern_probability <= 1.0:
            raise ConfigError(f"pattern_probability must be in (0, 1]; got {pattern_probability!r}.")
        if model_threshold is not None and not 0.0 < model_threshold <= 1.0:
            raise ConfigError(f"model_threshold must be in (0, 1] or None; got {model_threshold!r}.")
        self.pattern_probability = pattern_probability
        self.model_threshold = model_threshold

    def detect_one(self, text: str, model_probability: float | None = None,
                   model_span: tuple[int, int] | None = None, *,
                   model_threshold: float | None = None) -> IntentMatch | None:
        """The churn intent of one text, or None.

        ``model_probability`` is the learnt score of the text (the ``churn_intent`` theme's
        probability) and ``model_span`` the character span its evidence points to;
        ``model_threshold`` overrides :attr:`model_threshold` for this text (a language's own head).
        """
        text = text or ""
        cue = find_churn_cue(text)
        p_model = float(model_probability) if model_probability is not None else 0.0
        if cue is not None:
            family, start, end = cue
            return IntentMatch(CHURN_INTENT, max(self.pattern_probability, p_model), text[start:end], start, end,
                               "pattern", family)
        threshold = self.model_threshold if model_threshold is None else model_threshold
        if threshold is not None and model_probability is not None and p_model >= threshold:
            start, end = model_span or (0, len(text))
            return IntentMatch(CHURN_INTENT, p_model, text[start:end].strip(), start, end, "model", "model")
        return None

    def detect(self, texts: Sequence[str], model_probability: Sequence[float] | None = None,
               model_spans: Sequence[tuple[int, int] | None] | None = None) -> list[IntentMatch | None]:
        """:meth:`detect_one` for each text (same order; None where no intent is found)."""
        if isinstance(texts, str):
            raise ConfigError("detect() takes a list of texts; got one string. Use detect_one(text).")
        n = len(texts)
        for name, seq in (("model_probability", model_probability), ("model_spans", model_spans)):
            if seq is not None and len(seq) != n:
                raise ConfigError(f"{name} must have one value per text ({n}); got {len(seq)}.")
        return [self.detect_one(texts[i], None if model_probability is None else model_probability[i],
                                None if model_spans is None else model_spans[i]) for i in range(n)]
