"""The bench: instruments + channel map + limits; play, measure, and hardware in the loop.

>>> with Bench.mock() as bench:                        # doctest: +SKIP
...     bench.play(seq)                                # check -> render -> upload -> verify -> arm -> trigger
...     m = bench.measure(seq)                         # play + capture + align + compare
...     r = bench.hil(seq)                             # GIRF, pre-compensation, iterate

A bench comes from a TOML file (:meth:`Bench.from_file`; keys in :mod:`wavegen.bench_config` and
``examples/bench.toml``) or is the built-in mock bench (:meth:`Bench.mock`): a Keysight 33522B
emulator playing RF I/Q and a fake NI PCIe-6363 playing gx, gy, gz and the ADC gate and capturing the
monitors of a simulated device under test (``wavegen.drivers.mock.dut``). Everything is validated
before an instrument is touched; instruments connect on ``with`` entry (or the first use) and on exit
every output is switched off, every instrument closed and the mock stopped.

Play: the sequence is checked (:func:`wavegen.safety.clear`; an ``override`` is explicit and logged),
rendered at each instrument's rate with ``lead`` of zeros before and ``tail`` after (for the response to
settle), the *rendered samples* are checked again and cleared (that clearance goes to every driver),
turned into volts by the channel map (never clipped), uploaded, read back (drivers verify), armed,
and triggered: DAQ inputs first, then DAQ outputs, then the AWGs' software trigger (``trigger =
"external"`` leaves AWGs waiting for the DAQ's exported start trigger).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from wavegen import errors as wg_errors
from wavegen import hil as _hil
from wavegen.bench_config import BenchConfig, InstrumentConfig, load_toml, parse_config
from wavegen.bench_types import MOCK_CONFIG, HilResult, InstrumentInfo, Measurement, PlayResult, Program, Progress
from wavegen.errors import ConfigError, InstrumentError, SafetyError
from wavegen.limits import SystemLimits
from wavegen.output import GRADIENT_CHANNELS, ChannelMap, unit_of

__all__ = ["Bench", "Measurement", "PlayResult", "HilResult", "InstrumentInfo", "MOCK_CONFIG", "Program"]

logger = logging.getLogger(__name__)

def _seq_duration_s(seq: Any) -> float:
    return float(seq.duration_s) if not callable(seq.duration_s) else float(seq.duration_s())


class Bench:
    """A bench (see the module docstring). Build with :meth:`mock`, :meth:`from_file` or :meth:`from_config`."""

    def __init__(self, config: BenchConfig, *, dut: Any = None) -> None:
        if not isinstance(config, BenchConfig):
            raise ConfigError(f"Bench needs a BenchConfig (use Bench.from_config(dict)), got {type(config).__name__}")
        self.config = config
        self._dut = dut
        self._world: Any = None
        self._drivers: dict[str, Any] = {}
        self._resources: dict[str, str] = {}
        self._open = False
        #: digests of every clearance this bench issued and played, in order
        self.cleared: list[str] = []

    # -- construction --------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: dict[str, Any], *, dut: Any = None) -> Bench:
        """A bench from a configuration dict (as read from TOML). :class:`ConfigError` on any problem."""
        return cls(parse_config(cfg), dut=dut)

    @classmethod
    def from_file(cls, path: str | Path, *, dut: Any = None) -> Bench:
        """A bench from a TOML file. :class:`ConfigError` on any problem, before any instrument is touched."""
        return cls(parse_config(load_toml(path)), dut=dut)

    @classmethod
    def mock(
        cls, *, limits: SystemLimits | None = None, mode: str = "normal", seed: int = 0, dut: Any = None
    ) -> Bench:
        """The built-in mock bench (:data:`MOCK_CONFIG`), optionally with other limits, mode and seed."""
        cfg = {k: dict(v) for k, v in MOCK_CONFIG.items()}
        cfg["bench"].update(mode=mode, seed=seed)
        config = parse_config(cfg)
        if limits is not None:
            if not isinstance(limits, SystemLimits):
                raise ConfigError(f"limits must be a SystemLimits, got {type(limits).__name__}")
            config.channel_map.check_limits(limits.max_grad_t_per_m, limits.max_b1_t)
            config = replace(config, limits=limits)
        return cls(config, dut=dut)

    # -- properties -----------------------------------------------------------------------------------
    @property
    def limits(self) -> SystemLimits:
        return self.config.limits

    @property
    def mode(self) -> str:
        return self.config.mode

    @property
    def channel_map(self) -> ChannelMap:
        return self.config.channel_map

    @property
    def world(self) -> Any:
        """The running mock (:class:`wavegen.drivers.mock.bench.MockWorld`: ``.daq.played``, ``.emulators``,
        ``.dut``), or ``None`` on a real bench or before :meth:`open`."""
        return self._world

    def __repr__(self) -> str:
        ins = ", ".join(f"{n} ({i.driver})" for n, i in self.config.instruments.items())
        return (
            f"Bench({self.config.name!r}{' mock' if self.config.mock else ''}, mode={self.mode}, "
            f"instruments: {ins}; outputs: {', '.join(self.channel_map.outputs)}; "
            f"{'open' if self._open else 'closed'})"
        )

    # -- connection -------------------------------------------------------------------------------------
    def open(self) -> Bench:
        """Start the mock (if any) and connect every instrument (idempotent)."""
        if self._open:
            return self
        try:
            resources = {n: i.resource for n, i in self.config.instruments.items()}
            if self.config.mock and any(r == "mock" for r in resources.values()):
                from wavegen.drivers.mock.bench import MockWorld

                self._world = MockWorld(self.config, self._dut)
                resources.update(self._world.start())
            self._resources = resources
            for name, ic in self.config.instruments.items():
                self._drivers[name] = self._connect(ic, resources[name])
        except BaseException:
            self.close()
            raise
        self._open = True
        return self

    def _connect(self, ic: InstrumentConfig, resource: str) -> Any:
        if ic.is_daq:
            from wavegen.drivers.nidaq import NiDaq

            return NiDaq(resource, ao_range_v=ic.range_v, ai_range_v=ic.input_range_v)
        from wavegen.drivers.detect import FAMILIES

        drv = FAMILIES[ic.driver](resource, load_ohm=ic.load_ohm)
        try:
            for oc in self.channel_map.on_instrument(ic.name):
                if oc.channel > drv.caps.channels:
                    raise ConfigError(
                        f"channels.{oc.name}.channel = {oc.channel}: {drv.caps.model} has {drv.caps.channels} outputs"
                    )
                low = 0.0 if oc.kind == "digital" else -oc.range_v
                drv.set_channel_limits(oc.channel, low, oc.range_v)  # the driver refuses anything beyond
        except BaseException:
            drv.close()
            raise
        return drv

    def close(self) -> None:
        """Outputs off, instruments closed, mock stopped (idempotent; never raises)."""
        for name, drv in list(self._drivers.items()):
            try:
                drv.close()
            except Exception as exc:  # pragma: no cover - drivers already log and swallow
                logger.error("closing %s: %s", name, exc)
        self._drivers.clear()
        if self._world is not None:
            self._world.stop()
            self._world = None
        self._open = False

    def __enter__(self) -> Bench:
        return self.open()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def instruments(self) -> list[InstrumentInfo]:
        """The connected instruments (connects if needed)."""
        self.open()
        out = []
        for name, ic in self.config.instruments.items():
            drv = self._drivers[name]
            idn = getattr(drv, "idn", None) or f"NI {getattr(drv, 'product_type', '?')} {getattr(drv, 'device', '')}"
            chans = tuple(o.name for o in self.channel_map.on_instrument(name))
            chans += tuple(f"capture:{c.name}" for c in self.channel_map.captures.values() if c.instrument == name)
            out.append(InstrumentInfo(name, ic.driver, self._resources.get(name, ic.resource), str(idn).strip(), chans))
        return out

    # -- safety ---------------------------------------------------------------------------------------
    def _check_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"mode": self.mode, "patient": self.config.patient, "periodic": False}
        if self.config.rf_amplifier is not None:
            kwargs["rf_amplifier"] = self.config.rf_amplifier
        return kwargs

    def check(self, seq: Any) -> Any:
        """The safety report of ``seq`` on this bench's limits and mode (:func:`wavegen.safety.check`)."""
        from wavegen.safety import check

        return check(seq, self.limits, **self._check_kwargs())

    def _waveforms(self, program: Program) -> Any:
        from wavegen.safety import Waveforms

        grads = [g for g in GRADIENT_CHANNELS if g in program.physical]
        if grads:
            rate = program.rate_of(grads[0])
            n = program.physical[grads[0]].size
            g = np.zeros((n, 3))
            for i, ax in enumerate(GRADIENT_CHANNELS):
                if ax in program.physical:
                    g[:, i] = program.physical[ax]
            raster = 1.0 / rate
        else:
            g, raster = np.zeros((0, 3)), 1e-5
        rf = rf_raster = None
        if "rf_i" in program.physical and (np.any(program.physical["rf_i"]) or np.any(program.physical["rf_q"])):
            rf = program.physical["rf_i"] + 1j * program.physical["rf_q"]
            rf_raster = 1.0 / program.rate_of("rf_i")
        return Waveforms(g, raster, rf_b1_t=rf, rf_raster_s=rf_raster, t0_s=program.t0_s)

    def _clear(self, program: Program, override: Any = None) -> Any:
        """Check exactly what will play; a Clearance or SafetyError (the override is explicit)."""
        from wavegen.safety import clear
        from wavegen.safety import override as _override

        wf = self._waveforms(program)
        self._check_amplifiers(program)
        if override is not None:
            reason, operator = _override_args(override)
            return _override(wf, reason=reason, operator=operator, limits=self.limits, **self._check_kwargs())
        return clear(wf, self.limits, **self._check_kwargs())

    def _check_amplifiers(self, program: Program) -> None:
        for name, max_slew in self.config.amp_max_slew.items():
            x = program.physical.get(name)
            if x is None or x.size < 2:
                continue
            s = np.abs(np.diff(x)) * program.rate_of(name)
            i = int(np.argmax(s))
            if s[i] > max_slew:
                raise SafetyError(
                    f"{name}: slew {s[i]:.6g} T/m/s exceeds the amplifier rating {max_slew:.6g} T/m/s",
                    quantity="amplifier slew", value=float(s[i]), limit=max_slew, unit="T/m/s", channel=name,
                    time_s=program.t0_s + i / program.rate_of(name),
                )

    # -- rendering -------------------------------------------------------------------------------------
    def render(self, seq: Any) -> Program:
        """Per-output physical samples at each instrument's rate, with the bench's lead and tail."""
        dur = _seq_duration_s(seq)
        cm = self.channel_map
        rates: dict[str, float] = {}
        phys: dict[str, np.ndarray] = {}
        inst_of: dict[str, str] = {}
        for inst in cm.instruments:
            rate = self.config.instruments[inst].rate_hz
            rates[inst] = rate
            outs = cm.on_instrument(inst)
            want = []
            for o in outs:
                src = "rf" if o.name in ("rf_i", "rf_q") else o.name
                if src not in want:
                    want.append(src)
            n_seq = int(math.ceil(dur * rate - 1e-9))
            lead = int(round(self.config.lead_s * rate))
            tail = int(round(self.config.tail_s * rate))
            streams = seq.render(rate, tuple(want), n_samples=n_seq)
            for o in outs:
                src = "rf" if o.name in ("rf_i", "rf_q") else o.name
                x = np.asarray(streams[src])
                if o.name == "rf_i":
                    x = x.real
                elif o.name == "rf_q":
                    x = x.imag
                buf = np.zeros(lead + n_seq + tail, dtype=bool if o.kind == "digital" else np.float64)
                buf[lead : lead + n_seq] = x
                phys[o.name] = buf
                inst_of[o.name] = inst
        return Program(rates, phys, inst_of, -self.config.lead_s)

    # -- playing ---------------------------------------------------------------------------------------
    def play(self, seq: Any, *, override: Any = None, progress: Progress = None) -> PlayResult:
        """Check, render, upload, verify, arm and trigger ``seq``.

        Parameters
        ----------
        seq : Sequence
            What to play.
        override : dict or tuple, optional
            ``{"reason": ..., "operator": ...}``: play despite violations (logged as an override).
        progress : callable, optional
            ``progress(stage, done, total)``.

        Raises
        ------
        SafetyError
            Unsafe (nothing was uploaded). InstrumentError subclasses from the drivers (outputs off).
        """
        self._stage(progress, "check", 0)
        if override is None:
            self.check(seq).raise_if_unsafe()
        program = self.render(seq)
        self._stage(progress, "render", 1)
        result, _ = self._run(program, override=override, progress=progress, capture=False)
        return result

    def measure(
        self,
        seq: Any,
        *,
        override: Any = None,
        progress: Progress = None,
        drive: dict[str, np.ndarray] | None = None,
    ) -> Measurement:
        """Play ``seq`` and capture; align and compare every captured channel with the sequence.

        ``drive`` replaces the rendered samples of some outputs (e.g. ``HilResult.corrected``: T/m on
        the instrument's grid, the rendered length); the comparison stays against the sequence, and
        what actually plays is what the safety interlock checks.
        """
        if override is None:
            self.check(seq).raise_if_unsafe()
        program = reference = self.render(seq)
        if drive:
            for name, x in drive.items():
                ref = program.physical.get(name)
                if ref is None:
                    raise ConfigError(f"drive[{name!r}]: no such output; outputs: {', '.join(program.physical)}")
                if np.shape(x) != ref.shape:
                    raise wg_errors.ShapeError(
                        f"drive[{name!r}] has shape {np.shape(x)}, the rendered {name} has {ref.shape}"
                    )
            program = program.with_drive(drive)
        self._stage(progress, "render", 1)
        result, captured = self._run(program, override=override, progress=progress, capture=True)
        return self._compare(reference, captured, result)

    def _stage(self, progress: Progress, stage: str, done: int, total: int = 1) -> None:
        if progress is not None:
            progress(stage, done, total)

    def _run(
        self, program: Program, *, override: Any, progress: Progress, capture: bool
    ) -> tuple[PlayResult, dict[str, np.ndarray]]:
        self.open()
        clearance = self._clear(program, override)
        cm = self.channel_map
        # volts for every output, before any I/O (range errors refuse here)
        volts = {name: cm.to_volts(name, x) for name, x in program.physical.items()}
        insts = cm.instruments
        verified: dict[str, bool] = {}
        daqs = [i for i in insts if self.config.instruments[i].is_daq]
        awgs = [i for i in insts if not self.config.instruments[i].is_daq]
        total = len(insts) + 2
        try:
            for k, inst in enumerate(insts):
                drv = self._drivers[inst]
                outs = cm.on_instrument(inst)
                rate = program.rates[inst]
                if inst in daqs:
                    data = np.stack([volts[o.name] for o in outs])
                    drv.load([o.channel for o in outs], data, rate, clearance=clearance, mode="finite")
                    for o in outs:
                        verified[o.name] = True  # the DAQ adapter checks samples written and the clock rate
                    caps = [c for c in cm.captures.values() if c.instrument == inst]
                    if capture and caps:
                        drv.configure_capture([c.channel for c in caps], int(data.shape[1]))
                else:
                    for o in outs:
                        lw = drv.load(
                            o.channel, volts[o.name], rate, clearance=clearance,
                            name=f"wg{o.name.replace('_', '')}",
                            full_scale_v=o.range_v if o.kind != "digital" else None,
                        )
                        verified[o.name] = bool(lw.verified)
                self._stage(progress, "upload", k + 1, total)
            for inst in awgs:
                drv = self._drivers[inst]
                chans = [o.channel for o in cm.on_instrument(inst)]
                drv.arm(chans, trigger=self.config.trigger)
                for ch in chans:
                    drv.output(ch, True, clearance=clearance)
            self.cleared.append(clearance.digest)
            for inst in daqs:
                self._drivers[inst].start(clearance=clearance)
            if self.config.trigger == "bus":
                for inst in awgs:
                    self._drivers[inst].trigger()
            self._stage(progress, "play", len(insts) + 1, total)
            captured: dict[str, np.ndarray] = {}
            for inst in daqs:
                drv = self._drivers[inst]
                caps = [c for c in cm.captures.values() if c.instrument == inst]
                got: np.ndarray | None = drv.read() if capture and caps else None
                drv.wait()
                if got is not None:
                    for row, c in zip(got, caps, strict=True):
                        captured[c.name] = cm.from_volts(c.name, row)
            for inst in awgs:
                self._drivers[inst].outputs_off()
            self._stage(progress, "capture", total, total)
        except BaseException:
            for inst in insts:
                with contextlib.suppress(Exception):
                    if self.config.instruments[inst].is_daq:
                        self._drivers[inst].stop()
                    else:
                        self._drivers[inst].outputs_off()
            raise
        n = {i: int(next(program.physical[o.name].size for o in cm.on_instrument(i))) for i in insts}
        dur = max(n[i] / program.rates[i] for i in insts)
        result = PlayResult(
            clearance.digest, bool(clearance.overridden), dict(program.rates), n, verified, dur
        )
        logger.info("played %s", result)
        return result, captured

    def _compare(self, program: Program, captured: dict[str, np.ndarray], result: PlayResult) -> Measurement:
        if not captured:
            raise InstrumentError("nothing was captured: the bench configuration has no [capture] entries")
        rates = {program.rate_of(c) for c in captured}
        cap_rates = {self.config.instruments[self.channel_map.captures[c].instrument].rate_hz for c in captured}
        rate = cap_rates.pop()
        ref: dict[str, np.ndarray] = {}
        got: dict[str, np.ndarray] = {}
        for c in GRADIENT_CHANNELS:
            if c in captured:
                ref[c] = _on_grid(program.physical[c], program.rate_of(c), rate, captured[c].size)
                got[c] = captured[c]
        if "rf_i" in captured:
            ri = _on_grid(program.physical["rf_i"], program.rate_of("rf_i"), rate, captured["rf_i"].size)
            rq = _on_grid(program.physical["rf_q"], program.rate_of("rf_q"), rate, captured["rf_q"].size)
            ref["rf"] = ri + 1j * rq
            got["rf"] = captured["rf_i"] + 1j * captured["rf_q"]
        del rates
        for k in [k for k in ref if not np.any(ref[k])]:  # nothing played there: nothing to compare
            del ref[k], got[k]
        metrics = {
            k: _hil.compare(ref[k], got[k], rate, unit="T" if k == "rf" else unit_of(k)) for k in ref
        }
        return Measurement(metrics, ref, got, rate, program.t0_s, result)

    # -- hardware in the loop ------------------------------------------------------------------------------
    def estimate_girf(
        self, channels: tuple[str, ...] = GRADIENT_CHANNELS, *, regularization: float = 1e-6, progress: Progress = None
    ) -> dict[str, _hil.Girf]:
        """Play the test inputs (:func:`wavegen.hil.test_inputs`: triangles of several widths and a
        chirp, at half the amplitude and slew limits) on ``channels`` together and estimate each
        channel's GIRF by regularised deconvolution."""
        chans = self._hil_channels(channels)
        rate = self.config.instruments[self.channel_map.output(chans[0]).instrument].rate_hz
        lim = self.limits
        records = _hil.test_inputs(
            rate, max_amplitude=0.5 * lim.max_grad_t_per_m, max_slew=0.5 * lim.max_slew_t_per_m_per_s,
            tail_s=max(self.config.tail_s, 1e-3),
        )
        outs: dict[str, list[np.ndarray]] = {c: [] for c in chans}
        for k, rec in enumerate(records):
            blank = self._blank_program(rec.size)
            try:  # all axes at once (each axis's own response: cross-terms are not modelled)
                together = blank.with_drive({c: rec for c in chans})
                _, cap = self._run(together, override=None, progress=None, capture=True)
                for c in chans:
                    outs[c].append(cap[c])
            except SafetyError as exc:  # e.g. PNS with a patient: one axis at a time
                logger.info("GIRF test input on %s together refused (%s); one axis at a time", chans, exc)
                for c in chans:
                    _, cap = self._run(blank.with_drive({c: rec}), override=None, progress=None, capture=True)
                    outs[c].append(cap[c])
            self._stage(progress, "girf", k + 1, len(records))
        return {c: _hil.estimate_girf(records, outs[c], rate, regularization=regularization) for c in chans}

    def _hil_channels(self, channels: tuple[str, ...]) -> list[str]:
        chans = [c for c in channels if c in self.channel_map.outputs]
        for c in channels:
            if c not in GRADIENT_CHANNELS:
                raise ConfigError(f"hil: {c!r} is not a gradient channel (gx, gy, gz)")
            if c not in self.channel_map.captures:
                raise ConfigError(f"hil: channel {c!r} has no [capture.{c}] entry; the loop needs a measurement")
        if not chans:
            raise ConfigError(f"hil: none of {channels} is an output of this bench")
        for c in chans:
            oc = self.channel_map.output(c)
            cc = self.channel_map.captures[c]
            r_out = self.config.instruments[oc.instrument].rate_hz
            r_cap = self.config.instruments[cc.instrument].rate_hz
            if r_out != r_cap:
                raise ConfigError(f"hil: {c} plays at {r_out} Hz but is captured at {r_cap} Hz; use one rate")
        return chans

    def _blank_program(self, n_at_grad_rate: int) -> Program:
        cm = self.channel_map
        rates = {i: self.config.instruments[i].rate_hz for i in cm.instruments}
        grad_rate = next(
            (rates[cm.output(g).instrument] for g in GRADIENT_CHANNELS if g in cm.outputs), next(iter(rates.values()))
        )
        dur = n_at_grad_rate / grad_rate
        phys: dict[str, np.ndarray] = {}
        inst_of: dict[str, str] = {}
        for o in cm.outputs.values():
            n = int(round(dur * rates[o.instrument]))
            phys[o.name] = np.zeros(n, dtype=bool if o.kind == "digital" else np.float64)
            inst_of[o.name] = o.instrument
        return Program(rates, phys, inst_of, -self.config.lead_s)

    def hil_rf(
        self, seq: Any, *, target_nrmse: float = 0.01, max_iterations: int = 3, progress: Progress = None
    ) -> HilResult:
        """RF predistortion in the loop: measure the amplifier's AM/AM and AM/PM with a slow amplitude
        ramp (:func:`wavegen.hil.rf_ramp`), predistort the sequence's RF envelope by the inverse curve
        (advanced by the measured envelope delay), then iterate ``x += (d - y) / G(|x|)`` on the
        measured envelope (safety_physics.md 4.4). Every drive is limited to ``max_b1`` and cleared
        by the interlock before it plays; gradients and the ADC gate play as rendered."""
        from wavegen.bench_rf import rf_hil

        return rf_hil(self, seq, target_nrmse, max_iterations, progress)

    def hil(
        self,
        seq: Any,
        *,
        channels: tuple[str, ...] = GRADIENT_CHANNELS,
        target_nrmse: float = 0.01,
        max_iterations: int = 5,
        progress: Progress = None,
        on_unsafe: str = "clip",
        girf: dict[str, _hil.Girf] | None = None,
        regularization: float = 1e-2,
        band_hz: float | None = None,
    ) -> HilResult:
        """Hardware in the loop: estimate the GIRF, then iterate measure -> ILC update until every
        channel's NRMSE <= ``target_nrmse`` or ``max_iterations`` corrections.

        Every drive is cleared by the safety interlock before it plays (the uncorrected one included).
        An unsafe correction: ``on_unsafe="clip"`` (default) passes it through a slew and amplitude
        limiter (:func:`wavegen.hil.slew_limit`, 0.5 % inside the limits) and checks it again, then
        halves the step if it still fails (PNS, say); ``"shrink"`` only halves the step (stopping below
        1/16); ``"stop"`` raises the :class:`SafetyError`. Channels not in ``channels`` (RF, ADC) play as
        rendered. ``"rf"`` in ``channels`` runs :meth:`hil_rf` as well (after the gradients); the two
        results are merged (histories padded with their last value).
        """
        if "rf" in channels:
            grads = tuple(c for c in channels if c != "rf")
            rf = self.hil_rf(seq, target_nrmse=target_nrmse, max_iterations=max_iterations, progress=progress)
            if not grads:
                return rf
            g = self.hil(
                seq, channels=grads, target_nrmse=target_nrmse, max_iterations=max_iterations, progress=progress,
                on_unsafe=on_unsafe, girf=girf, regularization=regularization, band_hz=band_hz,
            )
            return _merge(g, rf)
        chans = self._hil_channels(channels)
        self.check(seq).raise_if_unsafe()
        program = self.render(seq)
        rate = program.rate_of(chans[0])
        if girf is None:
            girf = self.estimate_girf(tuple(chans), progress=progress)
        targets = {c: program.physical[c] for c in chans}

        def check(drive: dict[str, np.ndarray]) -> None:
            p = program.with_drive(drive)
            self._clear(p)
            for c, x in drive.items():
                self.channel_map.to_volts(c, x)

        def measure(drive: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            _, cap = self._run(program.with_drive(drive), override=None, progress=None, capture=True)
            return {c: cap[c] for c in chans}

        max_slew = 0.995 * self.limits.max_slew_t_per_m_per_s
        amp = {c: 0.995 * min(self.limits.max_grad_t_per_m, self.channel_map.output(c).max_value) for c in chans}
        for c in chans:
            max_slew = min(max_slew, 0.995 * self.config.amp_max_slew.get(c, math.inf))

        def clip(drive: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return {c: _hil.slew_limit(x, max_slew, amp[c], rate) for c, x in drive.items()}

        out = _hil.run_loop(
            targets, girf, measure, _safety_only(check), target_nrmse=target_nrmse, max_iterations=max_iterations,
            on_unsafe=on_unsafe, clip=clip, regularization=regularization, band_hz=band_hz, progress=progress,
        )
        hist = [s.nrmse for s in out.steps]
        init = dict(hist[0])
        final = dict(hist[out.best_index])
        red = {c: (init[c] / final[c]) if final[c] > 0 else math.inf for c in chans}
        return HilResult(
            hist, init, final, red, dict(girf), out.best_drive, targets, out.best_measured, rate, program.t0_s,
            [s.step for s in out.steps], out.stopped,
        )


def _merge(g: HilResult, rf: HilResult) -> HilResult:
    n = max(len(g.history), len(rf.history))
    hist = [{**g.history[min(i, len(g.history) - 1)], **rf.history[min(i, len(rf.history) - 1)]} for i in range(n)]
    steps = [g.steps[min(i, len(g.steps) - 1)] for i in range(n)]
    return HilResult(
        hist, {**g.initial_nrmse, **rf.initial_nrmse}, {**g.final_nrmse, **rf.final_nrmse},
        {**g.reduction, **rf.reduction}, dict(g.girf), {**g.corrected, **rf.corrected}, {**g.target, **rf.target},
        {**g.measured, **rf.measured}, g.rate_hz, g.t0_s, steps, f"gradients: {g.stopped}; rf: {rf.stopped}",
        rf.rf_curve,
    )


def _safety_only(check: Callable[[dict[str, np.ndarray]], None]) -> Callable[[dict[str, np.ndarray]], None]:
    """A range error from the channel map (a correction beyond the DAC range) is unsafe too."""
    from wavegen.errors import RangeError

    def wrapped(drive: dict[str, np.ndarray]) -> None:
        try:
            check(drive)
        except RangeError as exc:
            raise SafetyError(str(exc), quantity="channel range") from exc

    return wrapped


def _on_grid(x: np.ndarray, src_rate: float, dst_rate: float, n: int) -> np.ndarray:
    if src_rate == dst_rate and x.size == n:
        return np.asarray(x, dtype=np.float64)
    from wavegen.resample import resample

    return np.asarray(resample(np.asarray(x, dtype=np.float64), src_rate, dst_rate, method="linear", n_out=n))


def _override_args(override: Any) -> tuple[str, str]:
    if isinstance(override, dict):
        return str(override.get("reason", "")), str(override.get("operator", ""))
    if isinstance(override, (tuple, list)) and len(override) == 2:
        return str(override[0]), str(override[1])
    raise ConfigError(f"override must be {{'reason': ..., 'operator': ...}} or (reason, operator), got {override!r}")
