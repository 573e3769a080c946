from assistant.text import clean_message


def test_control_characters_are_stripped_and_spacing_normalised():
    cleaned = clean_message("  hi\x00\x07 there\u200b\r\n\r\n\r\n\r\nbye\ufeff ", 2000)
    assert cleaned.text == "hi there\n\nbye" and not cleaned.truncated


def test_long_messages_are_cut():
    cleaned = clean_message("a" * 2500, 2000)
    assert cleaned.truncated and len(cleaned.text) == 2000 and cleaned.original_length == 2500


def test_none_and_blank_become_empty():
    assert clean_message(None, 10).text == "" and clean_message(" \t\n ", 10).text == ""
