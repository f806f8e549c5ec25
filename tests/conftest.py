"""The project's tests use the wavegen pytest plugin (wavegen.testing.plugin, installed with the package):

    pytest --device-address TCPIP0::192.0.2.5::5025::SOCKET [--visa-backend @ivi] tests/test_drivers_e2e.py
    pytest --daq-device Dev1 tests/test_nidaq.py              (needs a wire from ao0 to ai0)

Without these options (or the environment variables WAVEGEN_DEVICE_ADDRESS, WAVEGEN_VISA_BACKEND and
WAVEGEN_DAQ_DEVICE) the real-hardware tests are skipped; everything else runs against mock instruments.
"""
