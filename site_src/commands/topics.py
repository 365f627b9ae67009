"""`build.py topics`: how the papers sort into the taxonomy, and what new topics could take the rest."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = "show per-topic counts, unsorted papers and why each paper got its topics (--json, --suggest)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true",
                      help='print {"topics": [{"id", "name", "parent", "papers"}], "unsorted": [...]}')
    mode.add_argument("--suggest", action="store_true",
                      help="mine candidate topics from frequent key phrases, as YAML to paste into "
                           "content/taxonomy.yaml")
    parser.add_argument("--taxonomy", type=Path, default=None, metavar="FILE",
                        help="taxonomy file (default: content/taxonomy.yaml under --root)")
    parser.add_argument("--limit", type=int, default=10, metavar="N",
                        help="number of topics --suggest proposes (default: 10)")


def render_text(papers, taxonomy, assignments) -> str:
    """Return the human report: topic tree with counts, unsorted papers, reasons per paper."""
    from site_src.taxonomy import papers_by_topic, unsorted_papers

    groups = papers_by_topic(assignments, taxonomy)
    unsorted = unsorted_papers(assignments)
    titles = {p.slug: p.title for p in papers}
    lines = [f"{len(taxonomy.topics)} topics, {len(assignments)} papers, {len(unsorted)} unsorted", ""]
    for topic in taxonomy.topics:
        own = len(groups[topic.id])
        subtree = len(set(groups[topic.id]).union(*(groups[d.id] for d in taxonomy.descendants(topic.id))))
        extra = f" ({subtree} with subtopics)" if topic.children else ""
        lines.append(f"{'  ' * topic.depth}{topic.name} [{topic.id}]: {own}{extra}")
    lines += ["", f"Unsorted ({len(unsorted)}):"]
    lines += [f"  {slug}  {titles.get(slug, '')}" for slug in unsorted] or ["  (none)"]
    lines += ["", "Papers:"]
    for slug, assignment in sorted(assignments.items()):
        how = " (set by the curator)" if assignment.curated else ""
        lines.append(f"  {slug}{how}")
        for topic_id in assignment.topics:
            reasons = "; ".join(str(r) for r in assignment.reasons_for(topic_id)
                                if r.field != "curator")
            lines.append(f"    {topic_id}" + (f": {reasons}" if reasons else ""))
        for topic_id in assignment.excluded:
            lines.append(f"    {topic_id}: removed by topics_exclude")
        if assignment.unsorted:
            lines.append("    (unsorted)")
    return "\n".join(lines) + "\n"


def render_json(taxonomy, assignments) -> str:
    """Return the scripts' report: topics with their own papers, and the unsorted ones."""
    from site_src.taxonomy import papers_by_topic, unsorted_papers

    groups = papers_by_topic(assignments, taxonomy)
    data = {
        "topics": [{"id": t.id, "name": t.name, "parent": t.parent, "papers": sorted(groups[t.id])}
                   for t in taxonomy.topics],
        "unsorted": sorted(unsorted_papers(assignments)),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_suggestions(suggestions, papers, assignments) -> str:
    """Return candidate topics as YAML list items a curator can paste under 'topics:'."""
    titles = {p.slug: p.title for p in papers}
    unsorted = sum(1 for a in assignments.values() if a.unsorted)
    lines = [
        f"# Candidate topics mined from {len(assignments)} papers ({unsorted} unsorted).",
        "# Review each: rename it, give it a parent, write the description, trim the phrases,",
        "# then paste it under 'topics:' in content/taxonomy.yaml and run `build.py topics` again.",
    ]
    if not suggestions:
        lines.append("# No phrase is shared by enough papers to suggest a topic.")
    for s in suggestions:
        # JSON strings are valid YAML scalars and escape whatever a title holds.
        lines += [
            f"  - id: {s.id}",
            f"    name: {json.dumps(s.name)}",
            f"    description: {json.dumps('TODO: one paragraph on what belongs here.')}",
            f"    match: [{', '.join(json.dumps(p) for p in s.phrases)}]",
            f"    # {len(s.papers)} papers ({len(s.unsorted)} unsorted) use these phrases, e.g.:",
        ]
        lines += [f"    #   {slug}: {titles.get(slug, '').replace(chr(10), ' ')}" for slug in s.papers[:3]]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Run the command."""
    from site_src.cli import UsageError, WorkError
    from site_src.store import load_store
    from site_src.taxonomy import TaxonomyError, assign_topics, load_taxonomy, suggest_topics

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    root = args.root
    path = args.taxonomy or root / "content" / "taxonomy.yaml"
    try:
        taxonomy = load_taxonomy(path)
    except TaxonomyError as error:
        raise WorkError(str(error)) from error
    corpus = load_store(root / "content")
    papers = corpus.papers
    assignments = assign_topics(papers, taxonomy)
    if args.json:
        print(render_json(taxonomy, assignments), end="")
    elif args.suggest:
        suggestions = suggest_topics(papers, taxonomy, assignments, limit=args.limit)
        print(render_suggestions(suggestions, papers, assignments), end="")
    else:
        print(render_text(papers, taxonomy, assignments), end="")
    return 0
