"""The masking rules, below every app: what counts as sensitive, with no Django and no app imports.

* :mod:`masking.patterns`: where in a text a card number, SSN, Aadhaar, PAN, IBAN or labelled
  identifier is, and the text, typed-value, fragment and CSS rules built on them.
* :mod:`masking.selector`: the account selector grammar (a subset of CSS) and its matcher.
* :mod:`masking.presets`: the industry presets, lists of selectors in that grammar.

The account model validates its settings with these rules, and the relay's redactor
(:mod:`cobrowse.masking`) applies them to what a customer's page sends; neither depends on the
other. The widget implements the same rules (``frontend/widget/recorder/masking.js``); both are
held to ``tests/masking_cases.json``.
"""
