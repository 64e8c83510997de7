// Package paxlst reads and writes UN/EDIFACT PAXLST (Advance Passenger
// Information) messages. Its one job is to turn an airline's passenger or
// crew list into travellers to screen, keeping every person it can read and
// reporting, as warnings, everything that was wrong with the message.
//
// Parse reads PAXLST D02B, D05B and D12B (other D-versions with a warning)
// with any UNA separators, with or without line breaks, in one or more
// messages, with or without a UNG group. Real feeds break the grammar
// often: wrong UNT counts and CNT totals, stray bytes, missing segments,
// segments in the wrong group, truncation. None of that is an error: it
// becomes a Warning that names the segment's position and byte offset, and
// every traveller read up to the damage is kept. Parse fails only on data
// larger than MaxInputSize or with no UNB or UNH at all. The legacy US
// CEDIPAX dialect (PAXLST:001:000, PDT segments) is read best effort.
//
// Write produces a valid D05B interchange with chosen separators, and
// Generate makes realistic flights for tests, benchmarks and demos.
//
// The package is pure: Parse takes bytes and Write takes an io.Writer;
// nothing here touches files, the network or the clock (the time that
// places two-digit years in a century is injectable through Options).
// Memory stays proportional to the input, with fixed caps on warnings,
// messages and travellers.
package paxlst
