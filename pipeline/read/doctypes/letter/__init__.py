"""The parts of an official letter's reading (not a document type: ``generic_letter`` is the type).

``header``: issuer and parent body, number, place and date, subject, by the Decree 30/2020 layout;
``words``: a value's words repaired (glued syllables, fixed phrases) and scored.
"""
