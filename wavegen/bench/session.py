"""The bench: instruments + channel map + limits; play, measure, and hardware in the loop.

>>> with Bench.mock() as bench:                        # doctest: +SKIP
...     bench.play(seq)                                # check -> render -> upload -> verify -> arm -> trigger
...     m = bench.measure(seq)                         # play + capture + align + compare
...     r = bench.hil(seq)                             # GIRF, pre-compensation, iterate

A bench comes from a TOML file (:meth:`Bench.from_file`; keys in :mod:`wavegen.bench.config` and
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
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from wavegen import errors as wg_errors
from wavegen import hil as _hil
from wavegen.bench.channels import GRADIENT_CHANNELS, ChannelMap, unit_of
from wavegen.bench.config import MOCK_CONFIG, BenchConfig, InstrumentConfig, load_toml, parse_config
from wavegen.bench.plan import (
    InstrumentPlan,
    PlaybackPlan,
    SequencerLimits,
    Window,
    make_instrument_plan,
    window_samples,
)
from wavegen.bench.results import HilResult, InstrumentInfo, Measurement, PlayResult, Program, Progress, notify
from wavegen.drivers.protocol import InputInstrument, OutputInstrument
from wavegen.errors import ConfigError, InstrumentError, SafetyError
from wavegen.hil import Girf
from wavegen.limits import SystemLimits

if TYPE_CHECKING:
    from wavegen.safety import Clearance, SafetyReport, Waveforms
    from wavegen.sequence import Sequence

__all__ = ["Bench"]

logger = logging.getLogger(__name__)

#: A DAQ program longer than this (points per channel) streams instead of playing one finite buffer.
DAQ_FINITE_MAX_POINTS = 1 << 23

def _seq_duration_s(seq: Sequence) -> float:
    return float(seq.duration_s) if not callable(seq.duration_s) else float(seq.duration_s())


class Bench:
    """A bench (see the module docstring). Build with :meth:`mock`, :meth:`from_file` or :meth:`from_config`."""

    def __init__(self, config: BenchConfig, *, dut: Any = None, virtual_time: bool = False,
                 record: bool = True) -> None:
        if not isinstance(config, BenchConfig):
            raise ConfigError(f"Bench needs a BenchConfig (use Bench.from_config(dict)), got {type(config).__name__}")
        self.config = config
        self._dut = dut
        #: mock instruments: run the fake DAQ's clock in virtual time (a long protocol plays in seconds),
        #: and keep every played sample for inspection (``world.daq.played``; off for long plays)
        self.virtual_time = bool(virtual_time)
        self.record = bool(record)
        self._world: Any = None
        self._drivers: dict[str, Any] = {}
        self._resources: dict[str, str] = {}
        self._open = False
        self._capture_tmp: Any = None
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
        cls,
        *,
        limits: SystemLimits | None = None,
        mode: str = "normal",
        seed: int = 0,
        dut: Any = None,
        virtual_time: bool = False,
        record: bool = True,
    ) -> Bench:
        """The built-in mock bench (:data:`MOCK_CONFIG`), optionally with other limits, mode and seed.

        The fake DAQ runs in wall-clock time (a 30 s protocol takes 30 s, as on a real bench) unless
        ``virtual_time``; ``record=False`` keeps no copy of what was played (long protocols)."""
        cfg = {k: dict(v) for k, v in MOCK_CONFIG.items()}
        cfg["bench"].update(mode=mode, seed=seed)
        config = parse_config(cfg)
        if limits is not None:
            if not isinstance(limits, SystemLimits):
                raise ConfigError(f"limits must be a SystemLimits, got {type(limits).__name__}")
            config.channel_map.check_limits(limits.max_grad_t_per_m, limits.max_b1_t)
            config = replace(config, limits=limits)
        return cls(config, dut=dut, virtual_time=virtual_time, record=record)

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

                self._world = MockWorld(self.config, self._dut, virtual_time=self.virtual_time, record=self.record)
                resources.update(self._world.start())
            self._resources = resources
            for name, ic in self.config.instruments.items():
                self._drivers[name] = self._connect_named(ic, resources[name])
        except BaseException:
            self.close()
            raise
        self._open = True
        return self

    def _connect_named(self, ic: InstrumentConfig, resource: str) -> Any:
        """:meth:`_connect`, with a failure naming the instrument and its address."""
        try:
            return self._connect(ic, resource)
        except (InstrumentError, OSError) as exc:
            msg = f"instrument {ic.name!r} ({ic.driver}) at {resource}: {exc}"
            try:
                err: Exception = type(exc)(msg) if isinstance(exc, InstrumentError) else InstrumentError(msg)
            except TypeError:  # an error class with another constructor: keep the family
                err = InstrumentError(msg)
            raise err from exc

    def _connect(self, ic: InstrumentConfig, resource: str) -> Any:
        from wavegen.drivers.registry import family

        drv: Any = family(ic.driver).driver_class()(resource, name=ic.name, **ic.driver_options())
        plays = isinstance(drv, OutputInstrument)  # (kept apart: no narrowing of drv to the protocol)
        if not plays:
            drv.close()
            raise ConfigError(f"instruments.{ic.name}.driver = {ic.driver!r} is not an output instrument")
        if not hasattr(drv, "set_channel_limits"):  # a DAQ board: its range is set when it opens
            return drv
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
        if self._capture_tmp is not None:
            self._capture_tmp.cleanup()
            self._capture_tmp = None
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

    def check(self, seq: Sequence) -> SafetyReport:
        """The safety report of ``seq`` on this bench's limits and mode (:func:`wavegen.safety.check`)."""
        from wavegen.safety import check

        return check(seq, self.limits, **self._check_kwargs())

    def _waveforms(self, program: Program) -> Waveforms:
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

    def clear_program(
        self, program: Program, override: Any = None, volts: dict[str, np.ndarray] | None = None
    ) -> Clearance:
        """Check exactly what will play and grant each output exactly its volts (computed from
        ``program`` by the channel map unless given); a Clearance or SafetyError (an override is explicit)."""
        from wavegen.safety import Grant, clear
        from wavegen.safety import override as _override

        self.open()
        wf = self._waveforms(program)
        self._check_amplifiers(program)
        cm = self.channel_map
        if volts is None:
            volts = {name: cm.to_volts(name, x) for name, x in program.physical.items()}
        grants = [
            Grant.for_samples(
                self.output_id(o.name), np.ascontiguousarray(volts[o.name], dtype=np.float64),
                program.rates[inst],
            )
            for inst in cm.instruments
            for o in cm.on_instrument(inst)
        ]
        if override is not None:
            reason, operator = _override_args(override)
            return _override(
                wf, reason=reason, operator=operator, limits=self.limits, grants=grants, **self._check_kwargs()
            )
        return clear(wf, self.limits, grants=grants, **self._check_kwargs())

    def output_id(self, output: str) -> str:
        """The name the driver gives output ``output`` (``"gx"``, ``"rf_i"``, ...) in clearances."""
        oc = self.channel_map.output(output)
        return str(self._drivers[oc.instrument].output_id(oc.channel))

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
    def render(self, seq: Sequence, *, window: Window | None = None) -> Program:
        """Per-output physical samples at each instrument's rate, with the bench's lead and tail; of
        ``window`` only when given (:class:`wavegen.bench.plan.Window`), on the sequence's own time base."""
        from wavegen.sequence.render import Renderer

        cm = self.channel_map
        rates: dict[str, float] = {}
        phys: dict[str, np.ndarray] = {}
        inst_of: dict[str, str] = {}
        t0_s = -self.config.lead_s + (float(window.clamp(seq.duration_ns).start_ns) * 1e-9 if window else 0.0)
        for inst in cm.instruments:
            rate = self.config.instruments[inst].rate_hz
            rates[inst] = rate
            outs = cm.on_instrument(inst)
            want = []
            for o in outs:
                src = "rf" if o.name in ("rf_i", "rf_q") else o.name
                if src not in want:
                    want.append(src)
            ks, ke = window_samples(seq, rate, window)
            lead = int(round(self.config.lead_s * rate))
            tail = int(round(self.config.tail_s * rate))
            streams = Renderer(seq, rate, tuple(want)).render(ks, ke)
            for o in outs:
                src = "rf" if o.name in ("rf_i", "rf_q") else o.name
                x = np.asarray(streams[src])
                if o.name == "rf_i":
                    x = x.real
                elif o.name == "rf_q":
                    x = x.imag
                buf = np.zeros(lead + (ke - ks) + tail, dtype=bool if o.kind == "digital" else np.float64)
                buf[lead : lead + (ke - ks)] = x
                phys[o.name] = buf
                inst_of[o.name] = inst
        return Program(rates, phys, inst_of, t0_s)

    def plan(self, seq: Sequence, *, window: Window | None = None) -> PlaybackPlan:
        """How ``seq`` (or ``window`` of it) plays on this bench: per instrument one waveform, a
        sequence of de-duplicated segments, or a stream (:mod:`wavegen.bench.plan`). Connects to read
        the instruments' memory and sequencer limits; sends nothing."""
        self.open()
        cm = self.channel_map
        plans: dict[str, InstrumentPlan] = {}
        for inst in cm.instruments:
            ic = self.config.instruments[inst]
            rate = ic.rate_hz
            ks, ke = window_samples(seq, rate, window)
            lead = int(round(self.config.lead_s * rate))
            tail = int(round(self.config.tail_s * rate))
            drv = self._drivers[inst]
            n = lead + (ke - ks) + tail
            caps = getattr(drv, "caps", None)  # what the instrument can hold, sequence or stream
            max_points = int(caps.max_points) if caps is not None else None
            sequencer = SequencerLimits.of_driver(drv)
            streams = callable(getattr(drv, "stream", None)) and n > DAQ_FINITE_MAX_POINTS
            plans[inst] = make_instrument_plan(
                seq, instrument=inst, rate_hz=rate, outputs=tuple(o.name for o in cm.on_instrument(inst)),
                to_volts=cm.to_volts, lead_samples=lead, tail_samples=tail, window=window, sequencer=sequencer,
                max_points=max_points, streams=streams,
            )
        t0 = -self.config.lead_s + (float(window.clamp(seq.duration_ns).start_ns) * 1e-9 if window else 0.0)
        return PlaybackPlan(plans, window, t0)

    # -- playing ---------------------------------------------------------------------------------------
    def play(
        self, seq: Sequence, *, override: Any = None, progress: Progress = None, window: Window | None = None
    ) -> PlayResult:
        """Check, render, upload, verify, arm and trigger ``seq``.

        Parameters
        ----------
        seq : Sequence
            What to play.
        override : dict or tuple, optional
            ``{"reason": ..., "operator": ...}``: play despite violations (logged as an override).
        progress : callable, optional
            ``progress(stage, done, total)``.
        window : Window, optional
            Play only this part of the sequence (:meth:`Window.of_times`, :meth:`Window.of_blocks`).

        Raises
        ------
        SafetyError
            Unsafe (nothing was uploaded). InstrumentError subclasses from the drivers (outputs off).
        """
        notify(progress, "check", 0)
        plan = self.plan(seq, window=window)
        if override is None and plan.fits_one_waveform:
            # refused before rendering; a plan that streams or sequences is checked by the interlock
            # (run_plan clears it, every rule, before any I/O), so it is not checked twice
            self.check(seq).raise_if_unsafe()
        if not plan.fits_one_waveform:
            result, _ = self.run_plan(seq, plan, override=override, progress=progress, capture=False)
            return result
        program = self.render(seq, window=window)
        notify(progress, "render", 1)
        result, _ = self.run(program, override=override, progress=progress, capture=False)
        return result

    def measure(
        self,
        seq: Sequence,
        *,
        override: Any = None,
        progress: Progress = None,
        drive: dict[str, np.ndarray] | None = None,
        window: Window | None = None,
    ) -> Measurement:
        """Play ``seq`` and capture; align and compare every captured channel with the sequence.

        ``drive`` replaces the rendered samples of some outputs (e.g. ``HilResult.corrected``: T/m on
        the instrument's grid, the rendered length); the comparison stays against the sequence, and
        what actually plays is what the safety interlock checks. ``window`` measures only that part of
        the sequence (the comparison is of that window).
        """
        plan = self.plan(seq, window=window)
        if override is None and plan.fits_one_waveform:
            # refused before rendering; a plan that streams or sequences is checked by the interlock
            # (run_plan clears it, every rule, before any I/O), so it is not checked twice
            self.check(seq).raise_if_unsafe()
        if not plan.fits_one_waveform:
            if drive:
                raise ConfigError("drive= replays a corrected drive of a short program; this one streams or "
                                  "sequences (play a window)")
            result, captured = self.run_plan(seq, plan, override=override, progress=progress, capture=True)
            return self._compare_plan(seq, plan, captured, result)
        program = reference = self.render(seq, window=window)
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
        notify(progress, "render", 1)
        result, captured = self.run(program, override=override, progress=progress, capture=True)
        return self._compare(reference, captured, result)

    def run(
        self, program: Program, *, override: Any, progress: Progress, capture: bool
    ) -> tuple[PlayResult, dict[str, np.ndarray]]:
        self.open()
        program = program.frozen()  # the checked copy is what plays: no caller can change it in between
        cm = self.channel_map
        # volts for every output from the checked copy, before any I/O (range errors refuse here)
        volts = {name: cm.to_volts(name, x) for name, x in program.physical.items()}
        for v in volts.values():
            v.flags.writeable = False
        clearance = self.clear_program(program, override, volts)
        insts = cm.instruments
        drivers: dict[str, OutputInstrument] = {i: self._drivers[i] for i in insts}
        verified: dict[str, bool] = {}
        total = len(insts) + 2
        try:
            for k, inst in enumerate(insts):
                drv = drivers[inst]
                outs = cm.on_instrument(inst)
                got_v = drv.load_outputs(
                    {o.channel: volts[o.name] for o in outs}, program.rates[inst], clearance=clearance,
                    full_scale_v={o.channel: o.range_v if o.kind != "digital" else None for o in outs},
                    names={o.channel: f"wg{o.name.replace('_', '')}" for o in outs},
                )
                verified.update({o.name: got_v[o.channel] for o in outs})
                caps = [c for c in cm.captures.values() if c.instrument == inst]
                if capture and caps:
                    self._inputs(inst).configure_capture([c.channel for c in caps], int(volts[outs[0].name].size))
                notify(progress, "upload", k + 1, total)
            self.cleared.append(clearance.digest)
            # those that wait for a trigger first, so they are ready when the free-running ones begin
            for inst in sorted(insts, key=lambda i: not drivers[i].waits_for_trigger):
                drivers[inst].start_outputs(
                    [o.channel for o in cm.on_instrument(inst)], clearance=clearance, trigger=self.config.trigger
                )
            if self.config.trigger == "bus":
                for inst in insts:
                    drivers[inst].trigger()
            notify(progress, "play", len(insts) + 1, total)
            captured: dict[str, np.ndarray] = {}
            for inst in insts:
                caps = [c for c in cm.captures.values() if c.instrument == inst]
                if capture and caps:
                    rows = self._inputs(inst).read()
                    for row, c in zip(rows, caps, strict=True):
                        captured[c.name] = cm.from_volts(c.name, row)
                drivers[inst].finish()
            for inst in insts:
                drivers[inst].outputs_off()
            notify(progress, "capture", total, total)
        except BaseException:
            for inst in insts:
                with contextlib.suppress(Exception):
                    drivers[inst].outputs_off()
            raise
        n = {i: int(next(program.physical[o.name].size for o in cm.on_instrument(i))) for i in insts}
        dur = max(n[i] / program.rates[i] for i in insts)
        result = PlayResult(
            clearance.digest, bool(clearance.overridden), dict(program.rates), n, verified, dur
        )
        logger.info("played %s", result)
        return result, captured

    def _inputs(self, inst: str) -> InputInstrument:
        """The instrument ``inst`` as a capturing one (the configuration only names capturing ones)."""
        drv = self._drivers[inst]
        if not isinstance(drv, InputInstrument):
            raise ConfigError(f"instrument {inst!r} cannot capture inputs")
        return drv

    def run_plan(
        self, seq: Sequence, plan: PlaybackPlan, *, override: Any, progress: Progress, capture: bool
    ) -> tuple[PlayResult, dict[str, Any]]:
        """Play a :class:`PlaybackPlan` (sequenced AWGs, streaming DAQs, or one waveform each).

        The clearance is issued by checking the sequence itself (every rule, exactly, in bounded memory)
        and grants every output exactly the plan's segments and table; drivers verify each segment's
        digest before its first byte, so a plan changed after clearance plays nothing. Captures stream
        to ``.npy`` files (memory maps) in a temporary folder that lives as long as the bench.
        """
        from wavegen.safety import clear
        from wavegen.safety import override as _override

        self.open()
        cm = self.channel_map
        grants = [g for ip in plan.instruments.values() for g in ip.grants(self.output_id)]
        notify(progress, "check", 0)
        if override is not None:
            reason, operator = _override_args(override)
            clearance = _override(
                seq, reason=reason, operator=operator, limits=self.limits, grants=grants, **self._check_kwargs()
            )
        else:
            clearance = clear(seq, self.limits, grants=grants, **self._check_kwargs())
        notify(progress, "check", 1)
        insts = cm.instruments
        drivers: dict[str, OutputInstrument] = {i: self._drivers[i] for i in insts}
        verified: dict[str, bool] = {}
        captured: dict[str, Any] = {}
        total = len(insts) + 2
        streamed = [i for i in insts if plan.instruments[i].mode == "stream"]
        played = [i for i in insts if i not in streamed]

        def caps_of(inst: str) -> list[Any]:
            return [c for c in cm.captures.values() if c.instrument == inst] if capture else []

        try:
            for k, inst in enumerate(played):  # one waveform, or a sequence of segments
                drv, ip = drivers[inst], plan.instruments[inst]
                outs = cm.on_instrument(inst)
                rate = float(ip.rate_hz)
                full = {o.channel: o.range_v if o.kind != "digital" else None for o in outs}
                names = {o.channel: f"wg{o.name.replace('_', '')}" for o in outs}
                if ip.mode == "sequence":
                    seq_drv: Any = drv  # instruments that sequence (load_sequence)
                    for o in outs:
                        segs = [ip.segment_volts(i)[o.name] for i in range(len(ip.segments))]
                        lw = seq_drv.load_sequence(o.channel, segs, ip.table, rate, clearance=clearance,
                                                   name=names[o.channel][:8], full_scale_v=full[o.channel])
                        verified[o.name] = bool(lw.verified)
                else:
                    v0 = ip.segment_volts(0)
                    got_v = drv.load_outputs({o.channel: v0[o.name] for o in outs}, rate, clearance=clearance,
                                             full_scale_v=full, names=names)
                    verified.update({o.name: got_v[o.channel] for o in outs})
                    if caps_of(inst):
                        self._inputs(inst).configure_capture([c.channel for c in caps_of(inst)], ip.n_samples)
                notify(progress, "upload", k + 1, total)
            self.cleared.append(plan.digest())
            for inst in sorted(played, key=lambda i: not drivers[i].waits_for_trigger):
                drivers[inst].start_outputs(
                    [o.channel for o in cm.on_instrument(inst)], clearance=clearance, trigger=self.config.trigger
                )
            if self.config.trigger == "bus":  # streams start right after (ideal timing on the mock bench)
                for inst in played:
                    drivers[inst].trigger()
            for inst in streamed:  # fed as it plays (instruments that stream: NiDaq.stream)
                stream_drv: Any = drivers[inst]
                ip, outs, caps = plan.instruments[inst], cm.on_instrument(inst), caps_of(inst)
                feed = _stacked_feed(ip, [o.name for o in outs])
                path = self._capture_dir() / f"{inst}.npy" if caps else None
                res = stream_drv.stream([o.channel for o in outs], feed, float(ip.rate_hz), clearance=clearance,
                                        capture_channels=[c.channel for c in caps], capture_path=path,
                                        capture_dtype="int16")
                if caps and res.capture is not None and res.capture_path is not None:
                    for i, c in enumerate(caps):  # read back in pieces when compared (never mapped whole)
                        scaling = res.capture_scaling[i] if res.capture_scaling else ()
                        captured[c.name] = _CaptureRow(res.capture_path, i, scaling)
                for o in outs:
                    verified[o.name] = True  # the adapter verified every segment's digest and the clock
            for inst in played:
                if caps_of(inst):
                    rows = self._inputs(inst).read()
                    for row, c in zip(rows, caps_of(inst), strict=True):
                        captured[c.name] = row
                drivers[inst].finish()
            for inst in insts:
                drivers[inst].outputs_off()
            notify(progress, "capture", total, total)
        except BaseException:
            for inst in insts:
                with contextlib.suppress(Exception):
                    drivers[inst].outputs_off()
            raise
        n = {i: plan.instruments[i].n_samples for i in insts}
        result = PlayResult(
            plan.digest(), bool(clearance.overridden), {i: float(plan.instruments[i].rate_hz) for i in insts}, n,
            verified, plan.duration_s, {i: plan.instruments[i].mode for i in insts},
        )
        logger.info("played %s", result)
        return result, captured

    def _capture_dir(self) -> Path:
        if self._capture_tmp is None:
            import tempfile

            self._capture_tmp = tempfile.TemporaryDirectory(prefix="wavegen-capture-")
        return Path(self._capture_tmp.name)

    def _compare_plan(self, seq: Sequence, plan: PlaybackPlan, captured: dict[str, Any],
                      result: PlayResult) -> Measurement:
        """Compare long captures with the sequence chunk by chunk (:func:`wavegen.hil.align.compare_long`):
        the reference is rendered on demand at the capture rate, never whole."""
        from wavegen.hil.align import compare_long
        from wavegen.sequence.render import Renderer

        if not captured:
            raise InstrumentError("nothing was captured: the bench configuration has no [capture] entries")
        cm = self.channel_map
        cap_inst = cm.captures[next(iter(captured))].instrument
        ip = plan.instruments[cap_inst]
        rate = float(ip.rate_hz)
        lead = int(round(self.config.lead_s * rate))
        ks, ke = window_samples(seq, rate, plan.window)
        want = tuple(dict.fromkeys("rf" if c in ("rf_i", "rf_q") else c for c in captured))
        renderers = {c: Renderer(seq, ip.rate_hz, (c,)) for c in want}  # each renders only its channel

        def reference(name: str, k0: int, k1: int) -> np.ndarray:
            out = np.zeros(k1 - k0, dtype=complex if name == "rf" else np.float64)
            s0, s1 = max(k0 - lead, 0) + ks, min(k1 - lead, ke - ks) + ks
            if s1 > s0:
                out[s0 - ks + lead - k0 : s1 - ks + lead - k0] = renderers[name].render(s0, s1)[name]
            return out

        # what a plot shows: envelopes (min/max per bin) of reference and capture over the whole record,
        # gathered while the metrics are accumulated (one pass), and a zoomed window (below)
        n = ip.n_samples
        sources: dict[str, Any] = {
            c: _Scaled(captured[c], 1.0 / cm.captures[c].volts_per_unit, 0.0)
            for c in GRADIENT_CHANNELS
            if c in captured
        }
        if "rf_i" in captured:
            sources["rf"] = _ComplexPair(captured["rf_i"], captured["rf_q"], 1.0 / cm.captures["rf_i"].volts_per_unit,
                                         1.0 / cm.captures["rf_q"].volts_per_unit)
        chunk = 1 << 18
        bin_n = max(1, 1 << max(0, (n // 2000).bit_length() - 1))  # a power of two: bins never straddle chunks
        n_bins = -(-n // bin_n)
        overview = {c: np.zeros((4, n_bins)) for c in sources}
        firsts: dict[str, int] = {}  # per gradient channel, its first sample of action

        def envelope(c: str) -> Callable[[int, np.ndarray, np.ndarray], None]:
            def see(k0: int, d: np.ndarray, y: np.ndarray) -> None:
                if np.iscomplexobj(d) or np.iscomplexobj(y):
                    d, y = np.abs(d), np.abs(y)
                elif c not in firsts and np.any(d):
                    firsts[c] = k0 + int(np.flatnonzero(d)[0])
                k = d.size
                pad = (-k) % bin_n
                for row, x, f in ((0, d, np.min), (1, d, np.max), (2, y, np.min), (3, y, np.max)):
                    xb = np.concatenate([x, np.full(pad, x[-1])]) if pad else x
                    overview[c][row, k0 // bin_n : k0 // bin_n + xb.size // bin_n] = f(xb.reshape(-1, bin_n), axis=1)
            return see

        metrics: dict[str, Any] = {}
        for c in sources:
            metrics[c] = compare_long(partial(reference, c), sources[c], rate, unit="T" if c == "rf" else unit_of(c),
                                      chunk_samples=chunk, fit_samples=1 << 18, on_chunk=envelope(c))
        first = min(firsts.values()) if firsts else None
        z0 = max(0, (first or 0) - int(0.001 * rate))
        z1 = min(n, z0 + int(0.02 * rate))
        zoom_ref = {c: reference(c, z0, z1) for c in sources}
        zoom_got = {c: sources[c][z0:z1] for c in sources}
        t0 = float(ip.t0_s)
        return Measurement(
            metrics, zoom_ref, zoom_got, rate, t0 + z0 / rate, result, overview,
            t0 + np.arange(n_bins) * bin_n / rate,
        )

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

    def blank_program(self, n_at_grad_rate: int) -> Program:
        """Zeros on every output for ``n_at_grad_rate`` samples at the gradient rate (each output at its
        own rate): the canvas the loops paint their test inputs on."""
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

    # -- hardware in the loop (wavegen.bench.loop and wavegen.bench.rf_loop) -----------------------------
    def estimate_girf(
        self, channels: tuple[str, ...] = GRADIENT_CHANNELS, *, regularization: float = 1e-6, progress: Progress = None
    ) -> dict[str, Girf]:
        """Play the test inputs (:func:`wavegen.hil.test_inputs`) on ``channels`` and estimate each
        channel's GIRF (:func:`wavegen.bench.loop.estimate_girf`)."""
        from wavegen.bench.loop import estimate_girf

        return estimate_girf(self, channels, regularization=regularization, progress=progress)

    def hil_rf(
        self,
        seq: Sequence,
        *,
        target_nrmse: float = 0.01,
        max_iterations: int = 3,
        progress: Progress = None,
        window: Window | None = None,
    ) -> HilResult:
        """RF predistortion in the loop (:func:`wavegen.bench.rf_loop.rf_hil`)."""
        from wavegen.bench.rf_loop import rf_hil

        return rf_hil(self, seq, target_nrmse, max_iterations, progress, window=window)

    def hil(
        self,
        seq: Sequence,
        *,
        channels: tuple[str, ...] = GRADIENT_CHANNELS,
        target_nrmse: float = 0.01,
        max_iterations: int = 5,
        progress: Progress = None,
        on_unsafe: str = "clip",
        girf: dict[str, Girf] | None = None,
        regularization: float = 1e-2,
        band_hz: float | None = None,
        window: Window | None = None,
    ) -> HilResult:
        """Hardware in the loop (:func:`wavegen.bench.loop.hil`): estimate the GIRF, then iterate
        measure -> ILC update until every channel's NRMSE <= ``target_nrmse`` or ``max_iterations``
        corrections; every drive is cleared by the safety interlock before it plays."""
        from wavegen.bench.loop import hil

        return hil(
            self, seq, channels=channels, target_nrmse=target_nrmse, max_iterations=max_iterations,
            progress=progress, on_unsafe=on_unsafe, girf=girf, regularization=regularization, band_hz=band_hz,
            window=window,
        )


def _override_args(override: Any) -> tuple[str, str]:
    if isinstance(override, dict):
        return str(override.get("reason", "")), str(override.get("operator", ""))
    if isinstance(override, (tuple, list)) and len(override) == 2:
        return str(override[0]), str(override[1])
    raise ConfigError(f"override must be {{'reason': ..., 'operator': ...}} or (reason, operator), got {override!r}")


def _on_grid(x: np.ndarray, src_rate: float, dst_rate: float, n: int) -> np.ndarray:
    if src_rate == dst_rate and x.size == n:
        return np.asarray(x, dtype=np.float64)
    from wavegen.dsp import resample

    return np.asarray(resample(np.asarray(x, dtype=np.float64), src_rate, dst_rate, method="linear", n_out=n))


class _CaptureRow:
    """Row ``row`` of a streamed capture (a ``(channels, n)`` ``.npy`` file), read with positioned reads
    when sliced: nothing of the file stays mapped, so a long capture costs no resident memory. An int16
    capture holds the ADC's codes; ``scaling`` (the board's ``(c0, c1, c2, c3)``) makes them volts."""

    def __init__(self, path: Path, row: int, scaling: tuple[float, ...] = (), gain: float = 1.0) -> None:
        self.scaling, self.gain, self.row = scaling, float(gain), row
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            fmt = np.lib.format
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
            self.offset = f.tell()
        if fortran or len(shape) != 2:
            raise InstrumentError(f"capture file {path}: expected a C-order (channels, n) array, got {shape}")
        self.path, self.dtype, self.n = path, np.dtype(dtype), int(shape[1])
        self.start = self.offset + row * self.n * self.dtype.itemsize

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: slice) -> np.ndarray:
        k0, k1, step = index.indices(self.n)
        if step != 1 or k1 <= k0:
            return np.zeros(0)
        with open(self.path, "rb") as f:
            f.seek(self.start + k0 * self.dtype.itemsize)
            raw = np.fromfile(f, dtype=self.dtype, count=k1 - k0)
        c = self.scaling
        if c and all(x == 0.0 for x in c[2:]):  # linear: one pass, the gain folded in
            out = np.multiply(raw, c[1] * self.gain, dtype=np.float64)
            if c[0]:
                out += c[0] * self.gain
            return out
        if c:
            from wavegen.drivers.nidaq import capture_volts

            v = capture_volts(raw, c)
        else:
            v = raw.astype(np.float64)
        if self.gain != 1.0:
            v *= self.gain
        return v

    def scaled(self, gain: float) -> _CaptureRow:
        """The same row read times ``gain`` (physical units in the same pass)."""
        return _CaptureRow(self.path, self.row, self.scaling, self.gain * gain)


class _Scaled:
    """A capture (memory map) read in physical units: ``(volts - offset) * scale``, sliced on demand."""

    def __new__(cls, volts: Any, scale: float, offset: float) -> Any:
        if isinstance(volts, _CaptureRow) and offset == 0.0:
            return volts.scaled(scale)  # folded into the read
        return super().__new__(cls)

    def __init__(self, volts: Any, scale: float, offset: float) -> None:
        self.volts, self.scale, self.offset = volts, scale, offset

    def __len__(self) -> int:
        return len(self.volts)

    def __getitem__(self, index: slice) -> np.ndarray:
        return (np.asarray(self.volts[index], dtype=np.float64) - self.offset) * self.scale


class _ComplexPair:
    """RF I and Q captures read as one complex envelope in tesla, sliced on demand."""

    def __init__(self, i: Any, q: Any, si: float, sq: float) -> None:
        self.i, self.q = _Scaled(i, si, 0.0), _Scaled(q, sq, 0.0)

    def __len__(self) -> int:
        return len(self.i)

    def __getitem__(self, index: slice) -> np.ndarray:
        re, im = np.asarray(self.i[index], dtype=np.float64), np.asarray(self.q[index], dtype=np.float64)
        out = np.empty(re.shape, dtype=complex)
        out.real, out.imag = re, im
        return out


def _stacked_feed(ip: InstrumentPlan, names: list[str]) -> Iterator[tuple[int, Callable[[], np.ndarray]]]:
    """The plan's feed as ``(segment index, make block)`` pairs in play order, a block being the
    ``(outputs, samples)`` stack of one segment. The adapter plays a segment it verified before from its
    own copy, so a repeated segment is stacked (or rendered) only when the adapter asks for it."""

    def make(idx: int) -> Callable[[], np.ndarray]:
        def block() -> np.ndarray:
            volts = ip.segment_volts(idx)
            out = np.stack([volts[n] for n in names])
            out.flags.writeable = False
            return out

        return block

    for idx, reps in ip.table:
        for _ in range(reps):
            yield idx, make(idx)
