"""The real-audio media engine shared by every leg type (SIP legs, and sandbox recordings/taps/bridges
when they carry real audio): G.711, RTP/RTCP/RFC 4733, a jitter buffer, tone/DTMF/VAD/AMD/ASR
detectors, a mixer, T.30 fax through spandsp, an `RtpEndpoint` (one RTP session on a UDP port) and
`CallMedia` (a `MediaLeg` on top of an endpoint).

Pure pieces are sans-I/O and work on numpy int16 frames of 8 kHz audio (160 samples = 20 ms).
"""

RATE = 8000
FRAME = 160  # samples per 20 ms frame at 8 kHz
PTIME = 0.020
