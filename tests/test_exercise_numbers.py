"""Exercises are numbered per chapter on the website (book/_ext/exercise_numbers.py)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "exercise_numbers", ROOT / "book" / "_ext" / "exercise_numbers.py")
exercise_numbers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(exercise_numbers)

PAGE = ('<span class="caption-number">Exercise 74 </span> ... '
        '<span class="caption-number">Exercise 75 </span> ... '
        'Solution to<a href="#a"> Exercise 74</a> Solution to<a href="#b"> Exercise 75</a> '
        'Exercise 7 stays')


def test_a_page_is_renumbered_from_where_its_chapter_stopped():
    html, next_k = exercise_numbers.renumber_page(PAGE, 8, 7)
    assert next_k == 9
    assert "Exercise 8.7 </span>" in html and "Exercise 8.8 </span>" in html
    assert "> Exercise 8.7</a>" in html and "> Exercise 8.8</a>" in html
    assert "Exercise 74" not in html and "Exercise 7 stays" in html


def test_a_page_without_exercises_is_left_alone():
    assert exercise_numbers.renumber_page("<p>none</p>", 3, 1) == ("<p>none</p>", 1)
