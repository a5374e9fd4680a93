"""The support team's workspace: the numbers behind its pages, computed from the store's rows.

::

    overview.py   customers and value at risk, today's alerts, missed ticket deadlines, themes and tone by week
    outcomes.py   retention of contacted customers against similar ones nobody contacted (observational)
    story.py      one customer's activity by week and a timeline with events summarised per day
    config.py     the rule table and taxonomy in force, checked and applied when admins save them
"""

from __future__ import annotations

from analyzer.service.workspace.config import apply_saved, check_rules, check_taxonomy, current_text, effective_taxonomy
from analyzer.service.workspace.outcomes import outcome_report
from analyzer.service.workspace.overview import overview
from analyzer.service.workspace.story import summarised_timeline, weekly_activity

__all__ = ["apply_saved", "check_rules", "check_taxonomy", "current_text", "effective_taxonomy", "outcome_report",
           "overview", "summarised_timeline", "weekly_activity"]
