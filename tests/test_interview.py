"""course.interview: a drill of four timed questions, recorded under the tracker's lock; the story bank."""

from __future__ import annotations

import random
from pathlib import Path

from course import curriculum, interview, tracker
from course.paths import lab_package_dir, solution_package_dir


def test_every_lesson_with_a_lab_has_explain_prompts() -> None:
    for week in curriculum.weeks():
        if week.has_lab:
            assert interview.explain_prompts(week), (
                f"week {week.code}: no 'Explain it in an interview' prompts"
            )


def test_a_drill_draws_a_design_two_prompts_and_an_unsolved_problem(tracker_file: Path) -> None:
    tracker_file.write_text(tracker.TEMPLATE)
    state = tracker.record_problems({"two_sum": True}, tracker.dt.datetime.now(tracker.dt.UTC))
    questions = interview.draw(state, random.Random(3))
    assert [q.kind for q in questions] == ["design", "explain", "explain", "dsa"]
    assert "two_sum " not in questions[3].source + " ", "a solved problem is not drawn"
    recorded = interview.record(questions)
    assert len(recorded.interviews) == 1
    assert recorded.interviews[0].minutes == sum(q.minutes for q in questions)
    assert tracker.load().interviews[0].questions[0].startswith("[design]")


def test_each_design_prompt_links_a_write_up_that_exists() -> None:
    text = interview.render_design_answers()
    assert text.count("[the answer](") == 3
    for key in interview.DESIGNS:
        assert (interview.DESIGNS_DIR / f"{key}.md").is_file(), f"docs/designs/{key}.md is missing"


def test_the_story_template_is_not_ready_and_the_sample_is() -> None:
    template = interview.story_problems(
        interview.load_stories(lab_package_dir("week16_interviews") / "stories.yaml")
    )
    if (lab_package_dir("week16_interviews") / "stories.yaml").read_text().count("TODO"):
        assert any("situation is not written yet" in p for p in template)
    sample = interview.load_stories(solution_package_dir("week16_interviews") / "stories.yaml")
    assert interview.story_problems(sample) == []
    assert 3 <= len(sample) <= 5
