package guard

// What CapsFor plans with: the most heap one entry took in
// BenchmarkMemoryPerEntry over counts from 50,000 to 1,500,000 (maps grow
// by steps, so the cost per entry swings with the count: 63–101 B per
// answer, 40–64 B per window), map overhead included, with a margin.
const (
	// bytesPerAnswer: an answered eventId with an answer of at most
	// inlineAnswer bytes (the hook's compact answers; a longer one costs
	// its length and about 100 B more), plus its share of the backlog
	// kept for Redis during an outage (MaxAnswers/16 entries of ~100 B).
	bytesPerAnswer = 112
	// bytesPerWindow: a rate window of a limit of up to refWindowN sends
	// (the defaults: 5/15m per phone, 10/1h per user). A larger limit
	// costs 2 bytes more per send, and its cap holds fewer windows to
	// match.
	bytesPerWindow = 68
)

// CapsFor returns MaxAnswers and MaxWindows such that the guard's memory
// stays within budget bytes: a quarter for remembered answers, three
// quarters for rate windows. An answer is kept for minutes (until
// otpExpires), while every send opens up to four windows kept for up to an
// hour, so steady traffic needs many more windows than answers. A budget of
// 0 or less returns 0, 0: the defaults.
func CapsFor(budget int64) (answers, windows int) {
	if budget <= 0 {
		return 0, 0
	}
	answers = int(max(memShards, budget/4/bytesPerAnswer))
	windows = int(max(memShards, budget*3/4/bytesPerWindow))
	return answers, windows
}
