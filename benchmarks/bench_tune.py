"""Tuning benchmarks: pruned TPE against random search, and Optuna's Keras pattern.

1. ``sweep``: on the bundled digits, a 24-trial ``lamina tune --strategy tpe --pruner
   hyperband`` sweep against a 24-trial ``--strategy random`` sweep of the same run and
   space, for each seed (``--seeds``: 0, 1, 2 by default): the epochs each trains (target:
   TPE + Hyperband at most half) and the best ``val_loss`` each reaches (target: within 5%
   of random search's). TPE without pruning is shown too, to tell what the sampler costs
   from what pruning costs; a last line counts the seeds that meet each target (a sweep
   takes about a second, so ``--seeds 100-199`` gives the odds, not one draw).
2. ``pattern``: Optuna's documented Keras pattern (TPE sampler, Hyperband pruner, 1-3
   Dense layers with dropout, learning rate; 20 trials of 20 epochs, Optuna's own
   ``KerasPruningCallback``) on the digits, timed under Keras 3 (torch backend) and under
   lamina - the same script with ``import lamina as keras`` - each in its own process.

Run: ``python benchmarks/bench_tune.py`` (both; ``--only sweep|pattern``). Needs
``lamina[optuna]``; the Keras side of ``pattern`` needs ``lamina[interop]`` (skipped
without it). Quote the ratios from one run, with the CPU it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

SEEDS = (0, 1, 2)
N_TRIALS = 24
EPOCHS = 27

RUN = {
    "data": {"source": "digits"},
    "model": {"layers": [{"units": 64, "activation": "relu", "dropout": 0.0},
                         {"units": 10, "activation": "softmax"}]},
    "training": {"epochs": EPOCHS, "batch_size": 32, "validation_split": 0.2,
                 "optimizer": {"name": "adam", "learning_rate": 1e-3}},
}
SPACE = {
    "model.layers[0].units": {"randint": [8, 257]},
    "model.layers[0].dropout": {"uniform": [0.0, 0.5]},
    "training.optimizer.learning_rate": {"loguniform": [1e-4, 1e-1]},
}


def sweep(seeds=SEEDS):
    from lamina import tune

    space = tune.normalize_space(SPACE)
    rows = []
    for seed in seeds:
        out = {}
        for label, kw in (("random", dict(strategy="random")),
                          ("tpe+hyperband", dict(strategy="tpe", pruner="hyperband")),
                          ("tpe", dict(strategy="tpe"))):
            t0 = time.perf_counter()
            res = tune.search(RUN, space, n_trials=N_TRIALS, seed=seed, backend="sequential",
                              **kw)
            seconds = time.perf_counter() - t0
            out[label] = {
                "epochs": sum(r["epochs"] for r in res),
                "best_val_loss": res.best["val_loss"],
                "pruned": sum(r["status"] == "pruned" for r in res),
                "seconds": seconds,
            }
        rows.append((seed, out))
    print(f"\n## {N_TRIALS}-trial sweeps on the digits ({EPOCHS} epochs max per trial)\n")
    print("| seed | random: epochs | random: best val_loss | TPE+Hyperband: epochs | "
          "pruned | best val_loss | epochs ratio | val_loss ratio | TPE alone: best "
          "val_loss (ratio) |")
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    for seed, out in rows:
        r, t, u = out["random"], out["tpe+hyperband"], out["tpe"]
        er, lr = t["epochs"] / r["epochs"], t["best_val_loss"] / r["best_val_loss"]
        ok &= er <= 0.5 and lr <= 1.05
        print(f"| {seed} | {r['epochs']} | {r['best_val_loss']:.4f} | {t['epochs']} | "
              f"{t['pruned']}/{N_TRIALS} | {t['best_val_loss']:.4f} | {er:.2f} | {lr:.3f} | "
              f"{u['best_val_loss']:.4f} ({u['best_val_loss'] / r['best_val_loss']:.3f}) |")
    print(f"\ntargets (epochs ratio <= 0.5 and val_loss ratio <= 1.05 for every seed): "
          f"{'met' if ok else 'NOT met'}")
    if len(rows) > 1:
        ratios = [(o["tpe+hyperband"]["epochs"] / o["random"]["epochs"],
                   o["tpe+hyperband"]["best_val_loss"] / o["random"]["best_val_loss"],
                   o["tpe"]["best_val_loss"] / o["random"]["best_val_loss"]) for _, o in rows]
        n = len(ratios)
        print(f"seeds meeting: epochs <= 0.5: {sum(e <= 0.5 for e, _, _ in ratios)}/{n}; "
              f"val_loss <= 1.05: {sum(v <= 1.05 for _, v, _ in ratios)}/{n}; both: "
              f"{sum(e <= 0.5 and v <= 1.05 for e, v, _ in ratios)}/{n} (TPE alone, "
              f"val_loss: {sum(u <= 1.05 for _, _, u in ratios)}/{n}); geometric mean "
              f"val_loss ratio {_gmean([v for _, v, _ in ratios]):.3f} (TPE alone "
              f"{_gmean([u for _, _, u in ratios]):.3f}), mean epochs ratio "
              f"{sum(e for e, _, _ in ratios) / n:.2f}")


def _gmean(values):
    import math

    return math.exp(sum(math.log(v) for v in values) / len(values))


def _seeds(text):
    """``"0,1,2"`` or ``"100-199"`` (inclusive), or both comma-separated, to a tuple."""
    seeds = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds.extend(range(int(lo), int(hi or lo) + 1))
    return tuple(seeds)


# ------------------------------------------------------------------ Optuna's Keras pattern
PATTERN_TRIALS = 20
PATTERN_EPOCHS = 20


def pattern(framework):
    """Optuna's keras_integration example on the digits, in this process."""
    if framework == "keras":
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
    else:
        import lamina as keras
    import numpy as np
    import optuna
    from optuna_integration import KerasPruningCallback

    import lamina

    (x, y), (x_valid, y_valid) = lamina.datasets.load_digits()
    x_train, x_valid = x.astype("float32") / 16, x_valid.astype("float32") / 16
    y_train = y.astype("int64")
    y_valid = y_valid.astype("int64")

    def create_model(trial):
        n_layers = trial.suggest_int("n_layers", 1, 3)
        model = keras.Sequential()
        model.add(keras.Input(shape=(64,)))
        for i in range(n_layers):
            num_hidden = trial.suggest_int(f"n_units_l{i}", 4, 128, log=True)
            model.add(keras.layers.Dense(num_hidden, activation="relu"))
            dropout = trial.suggest_float(f"dropout_l{i}", 0.2, 0.5)
            model.add(keras.layers.Dropout(rate=dropout))
        model.add(keras.layers.Dense(10, activation="softmax"))
        learning_rate = trial.suggest_float("learning_rate", 1e-5, 1e-1, log=True)
        model.compile(loss="sparse_categorical_crossentropy",
                      optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate),
                      metrics=["accuracy"])
        return model

    def objective(trial):
        if framework == "keras":
            keras.backend.clear_session()
        model = create_model(trial)
        model.fit(x_train, y_train, batch_size=128,
                  callbacks=[KerasPruningCallback(trial, "val_accuracy")],
                  epochs=PATTERN_EPOCHS, validation_data=(x_valid, y_valid), verbose=False)
        score = model.evaluate(x_valid, y_valid, verbose=0)
        return score[1]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    np.random.seed(0)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=0),
                                pruner=optuna.pruners.HyperbandPruner())
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=PATTERN_TRIALS)
    seconds = time.perf_counter() - t0
    states = [t.state.name for t in study.trials]
    print(json.dumps({"framework": framework, "seconds": seconds,
                      "pruned": states.count("PRUNED"), "complete": states.count("COMPLETE"),
                      "best_val_accuracy": study.best_value}))


def pattern_table():
    results = {}
    for framework in ("keras", "lamina"):
        env = dict(os.environ, KERAS_BACKEND="torch")
        p = subprocess.run([sys.executable, __file__, "--framework", framework],
                           capture_output=True, text=True, env=env, timeout=1800)
        line = p.stdout.strip().splitlines()[-1] if p.returncode == 0 and p.stdout else None
        if line is None:
            print(f"{framework}: skipped ({p.stderr.strip().splitlines()[-1:]})")
            continue
        results[framework] = json.loads(line)
    print(f"\n## Optuna's Keras pattern: TPE + Hyperband, {PATTERN_TRIALS} trials of "
          f"{PATTERN_EPOCHS} epochs on the digits (separate processes)\n")
    print("| framework | seconds | pruned | best val_accuracy |")
    print("|---|---|---|---|")
    for framework, r in results.items():
        print(f"| {framework} | {r['seconds']:.1f} | {r['pruned']}/{PATTERN_TRIALS} | "
              f"{r['best_val_accuracy']:.4f} |")
    if len(results) == 2:
        print(f"\nlamina is {results['keras']['seconds'] / results['lamina']['seconds']:.1f}x "
              "faster on this search")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["sweep", "pattern"], default=None)
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)),
                        help="sweep seeds: 0,1,2 or a range 100-199 (default: %(default)s)")
    parser.add_argument("--framework", choices=["keras", "lamina"], default=None,
                        help="(internal) run the pattern in this process")
    args = parser.parse_args()
    if args.framework:
        pattern(args.framework)
        return
    import lamina

    print(f"CPU: {platform.processor() or platform.machine()}; lamina threads: "
          f"{lamina.get_num_threads()}; Python {platform.python_version()}")
    if args.only in (None, "sweep"):
        sweep(_seeds(args.seeds))
    if args.only in (None, "pattern"):
        pattern_table()


if __name__ == "__main__":
    main()
