// Package intake screens traveller files dropped into a directory. Its one
// job: every file an airline or PIU system puts in the intake directory is
// screened exactly once, even across a crash or a power cut, and a file
// still being written is never picked up.
//
// This comment is the contract with the systems that write the files.
//
// # Directory layout
//
//	<dir>/                 drop files here
//	<dir>/processing/      files claimed by Watchpost and not yet finished
//	<dir>/done/            screened files, each with <name>.result.json
//	<dir>/failed/          rejected files, each with <name>.reason.txt
//
// The subdirectories are created by Watchpost. processing/, done/ and
// failed/ are Watchpost's: writers must not put files there. Exactly one
// Watchpost process may watch a directory.
//
// # Formats
//
// The format is chosen by the file's extension (case-insensitive):
//
//	.edi .txt .paxlst    UN/EDIFACT PAXLST (see engine/paxlst)
//	.jsonl .json         one traveller per line as a JSON object (the fields
//	                     of engine.Query: id, name or surname and
//	                     given_names, birth_date, nationality, sex,
//	                     document_number, document_country); a .json file
//	                     may instead hold one JSON array of such objects
//
// Any other extension is rejected into failed/.
//
// # When a file is taken
//
// A file is eligible when all of these hold:
//
//   - it is a regular file directly in <dir> (directories, symbolic links
//     and other special files are ignored);
//   - its name does not start with "." and does not end in ".tmp" or
//     ".part" (case-insensitive);
//   - its size and modification time have not changed for StableFor
//     (DefaultStableFor, 2 s) as observed by Watchpost's own scans.
//
// Writers SHOULD write to a name ending in ".tmp" or ".part" (or starting
// with ".") and rename it to its final name when complete: a rename within
// one filesystem is atomic, so the file appears whole. Writers that cannot
// rename (an SMB or FTP copy, say) are covered by the stability rule, as
// long as they never pause for StableFor or longer in the middle of a file.
// The rule uses when Watchpost saw the size change, never the file's
// modification time alone, because copies often preserve the source's time.
// On Windows a file another process still holds open cannot be moved, so it
// is retried at the next scan.
//
// Files are processed one at a time, in byte order of their names; files
// left in processing/ (see below) go first.
//
// # Claim, process, finish
//
//  1. Claim: the file is moved (os.Rename, atomic) from <dir>/<name> to
//     <dir>/processing/<name> before it is read. If processing/ already
//     holds that name, the new file waits in <dir> until it does not.
//  2. Read and check: a file larger than MaxSize (DefaultMaxSize, 16 MiB),
//     empty, not parseable, or holding no traveller is moved to failed/
//     with a reason file; nothing is screened. A PAXLST with any parser
//     warning (a broken segment, wrong counts, truncation) and a JSON file
//     with any bad line are rejected the same way, because travellers may
//     be missing from it and done/ must mean "the whole file was
//     screened"; Options.Lenient screens what could be read instead and
//     counts the warnings in the result.
//  3. Process: the file's travellers go to the Processor with the file's
//     ID: the hex SHA-256 of its name, a zero byte, and its content. The
//     same bytes under the same name always have the same ID, which is the
//     idempotency key of the screening (to screen a file again on purpose,
//     give it another name).
//  4. Finish: a small JSON result (the ID, counts, hit count, processed_at;
//     no traveller data) is written to done/<name>.result.json, then the
//     file is moved to done/<name>. A rejected file gets
//     failed/<name>.reason.txt, saying what is wrong and where (line,
//     segment position and byte offset), then is moved to failed/<name>.
//     A name already taken in done/ or failed/ gets a numeric suffix before
//     its extension (AF123.1.edi, AF123.2.edi, …); nothing is overwritten.
//
// # Crashes
//
// At every scan, and so at start, files found in processing/ are finished
// first: they were claimed but maybe not finished. A crash before step 3
// committed means the file is processed as if new. A crash after the
// Processor committed and before the move to done/ means the Processor is
// called again with the same ID, finds it in its ledger, records nothing and
// returns the stored result (Result.Replayed), and the file is moved to
// done/. Exactly-once therefore rests on the Processor (see its
// documentation): the outcome of screening and the fact that the ID was
// processed are committed together.
//
// A Processor error other than ErrRejected leaves the file in processing/ and
// ends the scan; it is retried at the next scan, and new files wait in
// <dir> meanwhile. A stop (the context ends) finishes the file in hand or
// leaves it in processing/ for the next start.
//
// # Logging
//
// File names, IDs, counts and the one-line reason of a rejection are logged
// at Info and Warn. The detail lines of a reason (which may quote a value
// from the file, such as an unreadable birth date) go to the reason file and
// to Debug only. Parser warnings name segments by position, byte offset and
// tag, never by their text, so names never leave the file itself.
package intake
