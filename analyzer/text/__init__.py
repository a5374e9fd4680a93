"""The runtime text pipeline: language, PII redaction, sentiment, themes and churn intent.

    from analyzer.text.pipeline import load_analyzer
    frame = load_analyzer().analyze_frame(df)

Modules: :mod:`~analyzer.text.pipeline` (:class:`TextAnalyzer`), :mod:`~analyzer.text.results`
(typed results), :mod:`~analyzer.text.langid`, :mod:`~analyzer.text.sentences`,
:mod:`~analyzer.text.themes`, :mod:`~analyzer.text.tokens`, :mod:`~analyzer.text.pii`. Nothing is
imported or loaded here: the models load on first use.
"""

__all__: list[str] = []
