"""The session's enrollment step: hear each partner for a few seconds and learn their voice."""

from __future__ import annotations

import numpy as np

WAIT_FOR_SPEECH_S = 20.0
"""How long to wait for the person to start talking after the prompt."""
END_PAUSE_S = 2.5
"""Once there is enough speech (4 s), a pause this long ends the clip."""
MIN_SPEECH_S = 4.0
MAX_CLIP_S = 30.0
MAX_TRIES = 2


class Enroller:
    """Runs the enroll turn for one partner; callable as the session's ``enroller``.

    Args:
        store: a ProfileStore to reuse and keep profiles, or None (demo, recordings).
        reuse: use a stored profile of the same name instead of asking.
        persist: save new profiles to the store.
    """

    def __init__(self, store=None, reuse: bool = True, persist: bool = True):
        self.store, self.reuse, self.persist = store, reuse, persist
        self.profiles: dict = {}
        self.failed: list[str] = []

    def _stored(self, name: str):
        if self.store is None or not self.reuse:
            return None
        try:
            return self.store.load(name) if name in self.store.names() else None
        except Exception:  # an unreadable profile is simply learned again
            return None

    def collect(self, session, target_s: float) -> np.ndarray:
        """Listen until ``target_s`` of speech, a pause after enough, or the time limit."""
        start = session.now_s
        chunks, speech_s, started, quiet_s = [], 0.0, False, 0.0
        while session.now_s - start < MAX_CLIP_S:
            frame = session.pull()
            if session.controls.stop or session.controls.next_turn:
                break
            speaking = session.analyzer.speaking and not frame.coach_speaking
            if speaking:
                started, quiet_s = True, 0.0
                speech_s += frame.duration_s
            elif started:
                quiet_s += frame.duration_s
            if started:
                chunks.append(frame.samples)
            if speech_s >= target_s or (speech_s >= MIN_SPEECH_S and quiet_s >= END_PAUSE_S):
                break
            if not started and session.now_s - start > WAIT_FOR_SPEECH_S:
                break
        return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)

    def __call__(self, session, turn, name: str) -> str:
        from coach.profiles import EnrollmentRefused, enroll_from_audio

        stored = self._stored(name)
        if stored is not None:
            self.profiles[name] = stored
            session.say(f"Welcome back, {name}. I remember your voice.")
            self._maybe_activate(session)
            return "done"
        prompt = session.fill(turn.prompt, turn)
        for attempt in range(MAX_TRIES):
            session.current_prompt = prompt
            session.say(prompt)
            audio = self.collect(session, turn.duration_s)
            if session.controls.stop:
                return "stop"
            if session.controls.next_turn:
                session.controls.next_turn = False
                break
            try:
                profile = enroll_from_audio(name, audio)
            except EnrollmentRefused as exc:
                if attempt + 1 < MAX_TRIES:
                    session.say(str(exc))
                continue
            self.profiles[name] = profile
            if self.persist and self.store is not None:
                try:
                    self.store.save(profile)
                except Exception as exc:  # keep the evening going; the profile still works tonight
                    session.view.message(f"could not save {name}'s voice profile: {exc}")
            session.say(f"Thank you, {name}.")
            self._maybe_activate(session)
            return "done"
        self.failed.append(name)
        session.say(f"I couldn't learn {name}'s voice, so tonight I'll count talk by who has the floor.")
        return "refused"

    def _maybe_activate(self, session) -> None:
        if len(self.profiles) == len(session.names) and not self.failed:
            session.analyzer.set_profiles(dict(self.profiles))
