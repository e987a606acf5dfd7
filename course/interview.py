"""The interview drill and the story bank: questions drawn from the course, answered under a clock.

``course interview`` draws one timed set — a system-design prompt (the three week-11 designs), two
"explain it in an interview" prompts from weeks whose labs you have passed (read from each
lesson's section of that name), and one week-16 problem you have not solved — and records the
session in ``tracker.yaml``. The stories are the learner's ``stories.yaml``: STAR with a reflection.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from course import curriculum, dsa, progress, tracker
from course.errors import CourseError
from course.paths import REPO_ROOT, lab_package_dir

EXPLAIN_HEADING = "## Explain it in an interview"
DESIGNS_DIR = REPO_ROOT / "docs" / "designs"  # where week 11's three designs are written up
DESIGNS = {  # docs/designs/<key>.md: the answer to each prompt
    "webhook-delivery": "Design a webhook delivery system: signing, retries with backoff, disabling "
                        "failing endpoints, ordering per endpoint.",
    "public-api": "Design a rate-limited public API: API keys, tiers, quotas, RateLimit headers, "
                  "what happens at the limit.",
    "inference-service": "Design an ML inference service: the model loaded once, micro-batching, timeouts, "
                         "health and readiness.",
}
MINUTES = {"design": 25, "explain": 5, "dsa": 20}
STAR_FIELDS = ("situation", "task", "action", "result", "reflection")


class StoryError(CourseError):
    """stories.yaml cannot be read; the message names the file and the field."""


def explain_prompts(week: curriculum.Week) -> list[str]:
    """The bullet points under the lesson's "Explain it in an interview" heading."""
    readme = week.folder / "README.md"
    if not readme.is_file():
        return []
    text = readme.read_text()
    if EXPLAIN_HEADING not in text:
        return []
    section = re.split(r"^#{1,2} ", text.split(EXPLAIN_HEADING, 1)[1], flags=re.M)[0]
    return [line[2:].strip() for line in section.splitlines() if line.startswith("- ")]


def design_link(key: str) -> str:
    """The write-up of one design, week 11's: ``docs/designs/<key>.md``."""
    return str((DESIGNS_DIR / f"{key}.md").relative_to(REPO_ROOT))


def render_design_answers() -> str:
    """The three designs for the site, each linked to its write-up (relative to docs/)."""
    return "\n".join(f"- {prompt} — [the answer](designs/{key}.md)" for key, prompt in DESIGNS.items())


@dataclass(frozen=True)
class Question:
    kind: str  # design, explain, dsa
    text: str
    source: str
    minutes: int

    def __str__(self) -> str:
        return f"[{self.kind}] {self.text} ({self.source})"


def draw(state: tracker.Tracker, rng: random.Random | None = None) -> list[Question]:
    """One drill: a design, two explain prompts from passed weeks, one unsolved problem."""
    rng = rng or random.Random()
    key = rng.choice(sorted(DESIGNS))
    questions = [Question("design", DESIGNS[key], design_link(key), MINUTES["design"])]
    passed = [w for w in curriculum.weeks() if progress.week_done(w, state)]
    started = [w for w in curriculum.weeks() if any(state.passed(lab.id) for lab in w.labs)]
    pool = [(w, p) for w in (passed or started or list(curriculum.weeks())) for p in explain_prompts(w)]
    for week, prompt in rng.sample(pool, min(2, len(pool))):
        questions.append(Question("explain", prompt, f"week {week.code}", MINUTES["explain"]))
    unsolved = dsa.unsolved(state) or list(dsa.problems())
    chosen = rng.choice(unsolved)
    questions.append(Question("dsa", f"{chosen.title} — labs/week16_interviews/{chosen.pattern}.py "
                                     f"{chosen.id}", f"pytest weeks/16 -k {chosen.id}", MINUTES["dsa"]))
    return questions


def record(questions: list[Question], at: dt.datetime | None = None) -> tracker.Tracker:
    session = tracker.InterviewSession(at=at or dt.datetime.now(dt.UTC).replace(microsecond=0),
                                       minutes=sum(q.minutes for q in questions),
                                       questions=[str(q) for q in questions])
    return tracker.record_interview(session)


# --------------------------------------------------------------------------- stories


class Story(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    situation: str
    task: str
    action: str
    result: str
    reflection: str


def stories_path() -> Path:
    return lab_package_dir("week16_interviews") / "stories.yaml"


def load_stories(path: Path | None = None) -> list[Story]:
    path = path or stories_path()
    try:
        data = YAML(typ="safe").load(path.read_text()) or {}
        return [Story.model_validate(item) for item in data.get("stories", [])]
    except (OSError, YAMLError) as exc:
        raise StoryError(f"{path}: {str(exc).splitlines()[0]}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        raise StoryError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc


def story_problems(stories: list[Story]) -> list[str]:
    """What keeps the bank from being ready: too few or too many stories, parts left unwritten."""
    problems = []
    if not 3 <= len(stories) <= 5:
        problems.append(f"{len(stories)} stories: keep three to five you can tell in two minutes each")
    for story in stories:
        for field in STAR_FIELDS:
            value = getattr(story, field).strip()
            if not value or value.upper().startswith("TODO") or len(value.split()) < 5:
                problems.append(f"'{story.title}': {field} is not written yet (a sentence or two)")
        if not re.search(r"\d", story.result):
            problems.append(f"'{story.title}': the result has no number — how much changed?")
    return problems
