package intake

import (
	"encoding/json"
	"time"
)

// Summary is the content of done/<name>.result.json: what was screened, in
// counts only (no traveller data).
type Summary struct {
	// ID is the file's identity (see File.ID).
	ID string `json:"id"`
	// Name is the file's name as dropped; the file in done/ may carry a
	// numeric suffix.
	Name       string `json:"name"`
	Format     Format `json:"format"`
	Size       int64  `json:"size"`
	Travellers int    `json:"travellers"`
	// Warnings counts the parser warnings or bad lines skipped (Lenient).
	Warnings int `json:"warnings"`
	Result
	ProcessedAt time.Time `json:"processed_at"`
}

func (s Summary) marshal() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
