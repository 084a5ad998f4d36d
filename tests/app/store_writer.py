"""A writer process for the run-store concurrency test.

Kept apart from the test module: a spawned child imports the module its target lives in, and
this one imports only the store (sqlite3), not torch.
"""

from bench.runs.store import RunStore


def write_trials(path, run_id, writer, count):
    store = RunStore(path)
    for i in range(count):
        store.add_trial(run_id, {"trial_id": f"w{writer}-{i}", "value": i})
        store.set_progress(run_id, {"writer": writer, "i": i})


def open_new_store(path, start_at, results):
    """Open (and so create) the store at the same instant as the other processes; report what happened."""
    import time

    time.sleep(max(0.0, start_at - time.time()))
    try:
        store = RunStore(path)
        store.create_run("run", {"opened_by": "a first run"}, session="s")
    except Exception as error:  # the test reports every failure, whatever its type
        results.put(f"{type(error).__name__}: {error}")
    else:
        results.put("ok")


def write_finished_run(path, session="s") -> str:
    """A finished two-arm run as the worker leaves it (trials, summary, budget plan), for the pages to show."""
    store = RunStore(path)
    config = {"kind": "run", "arms": ["linear_probe", "scratch"], "seeds": [0], "sizes": [], "advised": "linear_probe",
              "dataset_label": "digits", "base": {"dataset": "digits", "arm": "linear_probe", "examples": 200,
                                                  "budget_seconds": 5.0, "device": "auto", "seed": 0}}  # fmt: skip
    run_id = store.create_run("run", config, session=session)
    for arm, accuracy in (("linear_probe", 0.91), ("scratch", 0.62)):
        store.add_trial(run_id, {"trial_id": arm, "config": {"arm": arm, "seed": 0}, "status": "completed",
                                 "test_accuracy": accuracy, "test_macro_f1": accuracy - 0.01, "train_examples": 200,
                                 "time_train_s": 5.1, "images_per_second": 1234.5, "device": "cpu (test)"})  # fmt: skip
    store.add_analysis(run_id, "budget_plan", [
        {"arm": "scratch", "steps_per_second": 4.0, "steps_per_epoch": 4, "planned_steps": 17, "planned_epochs": 4.25,
         "enough": False, "suggested_seconds": 10.0, "text": "scratch would get about 17 steps in 5 s here"},
    ])  # fmt: skip
    store.set_progress(run_id, {"done": 2, "total": 2})
    store.set_status(run_id, "completed")
    return run_id


def write_planned_check(path, answers, recommendation, session="s") -> str:
    """A finished planned check of ``answers`` as the worker leaves it: its plan with the cost at full scale
    (from rates given here, no probe), the advice its measured costs gave, two trials and a verdict."""
    from advisor import recommend
    from advisor.profile import profile_from_mapping
    from bench.train.check import ArmRate, Question, advice_change, measured_costs, plan_check
    from bench.vocabulary import ArmFamily

    store = RunStore(path)
    rates = (ArmRate("linear_probe", ArmFamily.PROBE, 1266.0, eval_images=2000, fixed_seconds=2.0),
             ArmRate("scratch", ArmFamily.SCRATCH, 247.0, epochs_to_converge=30, fixed_seconds=1.0))  # fmt: skip
    question = Question(answers["time_budget_hours"], answers["compute"], answers["labeled_examples"])
    plan = plan_check(question, rates, answers["labeled_examples"], 3600, 20, "cpu", advised_arms=("linear_probe",))
    config = {"kind": "run", "arms": ["linear_probe", "scratch"], "seeds": [0], "sizes": [], "advised": "linear_probe",
              "dataset_label": "fashion-mnist", "check_minutes": 60.0,
              "base": {"dataset": "fashion-mnist", "arm": "linear_probe", "examples": None, "budget_seconds": 20.0,
                       "device": "auto", "seed": 0}}  # fmt: skip
    profile_id = store.save_profile(answers, recommendation)
    run_id = store.create_run("run", config, session=session, profile_id=profile_id)
    for arm, accuracy in (("linear_probe", 0.82), ("scratch", 0.86)):
        store.add_trial(run_id, {"trial_id": arm, "config": {"arm": arm, "seed": 0}, "status": "completed",
                                 "test_accuracy": accuracy, "test_macro_f1": accuracy - 0.01, "train_examples": 1000,
                                 "time_train_s": 60.0, "images_per_second": 247.0, "device": "cpu (test)"})  # fmt: skip
    measured = recommend(profile_from_mapping(answers), measured_costs(plan)).to_dict()
    store.save_recommendation(profile_id, measured)
    store.add_analysis(run_id, "check_plan", plan.to_dict())
    store.add_analysis(run_id, "measured_advice", {
        "questionnaire": recommendation["strategy"], "measured": measured["strategy"], "judged": measured["strategy"],
        "text": advice_change(recommendation, measured),
    })  # fmt: skip
    store.set_verdict(run_id, {"outcome": "inconclusive", "summary": "scratch vs linear_probe: +0.040 accuracy",
                               "reason": "one seed", "advised": measured["strategy"],
                               "question": plan.verdict_question()})  # fmt: skip
    store.set_progress(run_id, {"done": 2, "total": 2})
    store.set_status(run_id, "completed")
    return run_id
