"""scalinglab.glue: numbers for the prose, as plain Python values."""

import numpy as np
import pytest

from scalinglab.glue import glue


def test_numpy_scalars_become_python_numbers(capsys):
    assert type(glue("x", np.float64(0.5))) is float
    assert type(glue("n", np.int64(3))) is int
    assert glue("s", "text") == "text"
    assert capsys.readouterr().out == ""  # display=False: nothing printed on the page


def test_a_number_the_text_cannot_quote_is_refused():
    with pytest.raises(ValueError, match="not a number"):
        glue("bad", float("nan"))
