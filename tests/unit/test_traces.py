from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from autoscaler.traces import TraceError, bundled_trace_path, load_trace


def write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_bundled_default_is_a_week_of_nasa_minutes() -> None:
    t = load_trace(None)
    assert t.name == bundled_trace_path().name
    assert len(t) == 7 * 24 * 60
    assert t.step == timedelta(minutes=1)
    assert str(t.series.index.tz) == "UTC"
    assert t.series.index[0].isoformat() == "1995-07-01T04:00:00+00:00"


def test_nab_style_trace_and_resampling(shared_data: Path) -> None:
    p = shared_data / "nab" / "realAWSCloudwatch" / "ec2_cpu_utilization_24ae8d.csv"
    t = load_trace(p)
    assert t.step == timedelta(minutes=5)
    t15 = load_trace(p, resample=timedelta(minutes=15))
    assert t15.step == timedelta(minutes=15)
    # Mean aggregation keeps the overall level.
    assert t15.series.mean() == pytest.approx(t.series.mean(), rel=0.01)
    t1 = load_trace(p, resample=timedelta(minutes=1))
    assert len(t1) == pytest.approx(5 * len(t), abs=5)


def test_planetlab_needs_step(shared_data: Path) -> None:
    folder = shared_data / "planetlab" / "20110303"
    p = sorted(folder.iterdir())[0]
    with pytest.raises(
        TraceError, match="no timestamps in this file; give the sample interval with --step"
    ):
        load_trace(p)
    t = load_trace(p, step=timedelta(minutes=5))
    assert len(t) == 288
    assert t.series.index[0].isoformat() == "2011-03-03T00:00:00+00:00"


def test_nasa_gap_reported_then_filled(shared_data: Path) -> None:
    p = shared_data / "nasa-http-1995" / "nasa_http_1995_per_minute.csv"
    with pytest.raises(
        TraceError, match=r"1 gap\(s\).*1995-07-28 17:32.*--fill zero or --fill previous"
    ):
        load_trace(p)
    t = load_trace(p, fill="zero")
    assert (t.series.index[1:] - t.series.index[:-1]).unique().tolist() == [np.timedelta64(60, "s")]
    assert any("filled" in n for n in t.notes)
    assert t.series["1995-07-30"].max() == 0.0


def test_column_choice(tmp_path: Path) -> None:
    p = write(tmp_path, "timestamp,a,b\n2020-01-01 00:00:00,1,10\n2020-01-01 00:01:00,2,20\n")
    with pytest.raises(TraceError, match=r":1: 2 value columns \(a, b\); choose one with --column"):
        load_trace(p)
    assert load_trace(p, column="b").values.tolist() == [10.0, 20.0]


# One test per bad input, each a single line naming the file and line.


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match=r"absent\.csv: no such file$"):
        load_trace(tmp_path / "absent.csv")


def test_no_such_column(tmp_path: Path) -> None:
    p = write(tmp_path, "timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 00:01:00,2\n")
    with pytest.raises(TraceError, match=r"t\.csv:1: no column 'cpu' \(columns: value\)"):
        load_trace(p, column="cpu")


def test_unparsable_timestamp_with_line(tmp_path: Path) -> None:
    p = write(
        tmp_path, "timestamp,value\n2020-01-01 00:00:00,1\nyesterday,2\n2020-01-01 00:02:00,3\n"
    )
    with pytest.raises(TraceError, match=r"t\.csv:3: unparsable timestamp 'yesterday'"):
        load_trace(p)


def test_timestamp_outside_the_nanosecond_span_with_line(tmp_path: Path) -> None:
    # Year 1 parsed, then raised OutOfBoundsDatetime (a traceback) in the ns arithmetic.
    p = write(tmp_path, "timestamp,value\n0001-01-01T00:00:00Z,1\n0001-01-01T00:01:00Z,2\n")
    with pytest.raises(TraceError, match=r"t\.csv:2: timestamp '0001-01-01T00:00:00Z' is outside"):
        load_trace(p)


@pytest.mark.parametrize(
    ("text", "line", "stamp"),
    [
        # bench/fuzz.py's case: "1;" parses as the year 1, which has no nanosecond form
        ("TIMESTAMP,\n1;,0\n", 2, "1;"),
        ("timestamp,value\n2020-01-01 00:00:00,1\n3000-01-01 00:00:00,2\n", 3, "3000-01-01"),
    ],
)
def test_more_timestamps_outside_the_span(tmp_path: Path, text: str, line: int, stamp: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(TraceError, match=rf"t\.csv:{line}: timestamp '{stamp}.*' is outside 1677"):
        load_trace(p)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("2020-01-01T00:00:00Z,1\n2020-01-01T01:01:00,2\n",
         r"t\.csv:3: timestamp '2020-01-01T01:01:00' has no time zone and line 2's has one"),
        ("2020-01-01 00:00:00,1\n2020-01-01 02:01:00+02:00,2\n",
         r"t\.csv:3: timestamp '2020-01-01 02:01:00\+02:00' has a time zone and line 2's has none"),
    ],
)  # fmt: skip
def test_timestamps_with_and_without_a_zone_are_an_error(
    tmp_path: Path, rows: str, message: str
) -> None:
    # The naive stamp was read as UTC, an hour (two) off from its neighbour, silently.
    with pytest.raises(TraceError, match=message):
        load_trace(write(tmp_path, "timestamp,value\n" + rows))


def test_zoned_and_naive_files_and_dates_still_load(tmp_path: Path) -> None:
    for rows in (
        "2020-01-01,1\n2020-01-02,2\n",
        "2020-01-01T00:00:00+01:00,1\n2020-01-01T00:01:00-0100,2\n",
    ):
        assert len(load_trace(write(tmp_path, "timestamp,value\n" + rows), fill="zero")) >= 2


def test_unsorted_timestamps(tmp_path: Path) -> None:
    p = write(tmp_path, "timestamp,value\n2020-01-01 00:01:00,1\n2020-01-01 00:00:00,2\n")
    with pytest.raises(TraceError, match=r"t\.csv:3: timestamps not sorted"):
        load_trace(p)


def test_duplicate_timestamps(tmp_path: Path) -> None:
    p = write(tmp_path, "timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 00:00:00,2\n")
    with pytest.raises(TraceError, match=r"t\.csv:3: duplicate timestamp 2020-01-01 00:00:00"):
        load_trace(p)


def test_negative_value_with_line(tmp_path: Path) -> None:
    p = write(tmp_path, "timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 00:01:00,-4\n")
    with pytest.raises(TraceError, match=r"t\.csv:3: column 'value': negative value -4"):
        load_trace(p)


def test_non_numeric_value_with_line(tmp_path: Path) -> None:
    p = write(tmp_path, "timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 00:01:00,lots\n")
    with pytest.raises(TraceError, match=r"t\.csv:3: column 'value': not a number: 'lots'"):
        load_trace(p)


def test_headerless_bad_value_with_line(tmp_path: Path) -> None:
    p = write(tmp_path, "3\n4\nfive\n")
    with pytest.raises(TraceError, match=r"t\.csv:3: not a number: 'five'"):
        load_trace(p, step=timedelta(minutes=5))


def test_gap_without_fill_is_an_error_and_fill_previous(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 00:01:00,2\n"
        "2020-01-01 00:02:00,3\n2020-01-01 00:05:00,5\n",
    )
    with pytest.raises(TraceError, match=r"1 gap\(s\), 2 missing steps"):
        load_trace(p)
    assert load_trace(p, fill="previous").values.tolist() == [1, 2, 3, 3, 3, 5]
    assert load_trace(p, fill="zero").values.tolist() == [1, 2, 3, 0, 0, 5]


def test_empty_and_directory(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="empty file"):
        load_trace(write(tmp_path, ""))
    with pytest.raises(TraceError, match="is a directory"):
        load_trace(tmp_path)
