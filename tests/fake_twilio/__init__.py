"""A fake Twilio Messages API (aiohttp) for tests and benchmarks.

``tests.fake_twilio.control.FakeTwilio`` starts one as a subprocess and drives it;
``python -m tests.fake_twilio`` runs one by hand. See ``control`` for how to point the
real twilio-python client at it.
"""
