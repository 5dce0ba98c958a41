// An example program that embeds Samhand through its public API only.
// Placeholder until the example lands.
import Samhand

print("Samhand example: \(Office.cooperation.count) offices")
