// A child process for the crash test: placeholder until the test lands.
print("samhand-crash-child")
