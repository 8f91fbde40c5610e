package manual

import (
	"bytes"
	"encoding/json"

	"github.com/switchboard12345/switchboard/adapters"
)

// Payload is an inbox item's payload as staff read it through the API:
//
//	{"ticket":{…},"event":{…}}
//
// with the field names of adapters.Ticket and adapters.Event.
type Payload struct {
	Ticket adapters.Ticket `json:"ticket"`
	Event  adapters.Event  `json:"event"`
}

// Encode returns the payload of d: UTF-8 JSON, Chinese and <>& as they are.
func Encode(d adapters.Delivery) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Payload{Ticket: d.Ticket, Event: d.Event}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
