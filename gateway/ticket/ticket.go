// Package ticket holds the work order (工单) value types shared by intake, the
// lifecycle, the store and the API layer. It has no behaviour beyond small
// derivations; the lifecycle package decides what may change.
package ticket

import "time"

// State is a lifecycle state; its values are the API's enum names.
type State string

// The states. See the lifecycle package for the transitions.
const (
	Received           State = "RECEIVED"
	Answered           State = "ANSWERED"
	Dispatched         State = "DISPATCHED"
	Signed             State = "SIGNED"
	Returned           State = "RETURNED"
	InProgress         State = "IN_PROGRESS"
	ExtensionRequested State = "EXTENSION_REQUESTED"
	Replied            State = "REPLIED"
	Visited            State = "VISITED"
	Reopened           State = "REOPENED"
	Closed             State = "CLOSED"
)

// AllStates lists every state in lifecycle order.
var AllStates = []State{Received, Answered, Dispatched, Signed, Returned, InProgress,
	ExtensionRequested, Replied, Visited, Reopened, Closed}

// AwaitingSign reports whether the handling unit has yet to sign, so the sign-by
// deadline is the one that counts.
func (s State) AwaitingSign() bool { return s == Dispatched || s == Reopened }

// Handling reports whether the unit has signed and not yet replied, so the
// reply-by deadline is the one that counts.
func (s State) Handling() bool { return s == Signed || s == InProgress || s == ExtensionRequested }

// Terminal reports whether no action is possible any more.
func (s State) Terminal() bool { return s == Answered || s == Closed }

// Channel is how the request arrived; values are the API's enum names.
type Channel string

// RequestType is 咨询/求助/投诉/举报/建议/表扬/其他; values are the API's enum names.
type RequestType string

// Urgency drives the sign-for limit: NORMAL, URGENT or CRITICAL.
type Urgency string

// The urgencies.
const (
	Normal   Urgency = "NORMAL"
	Urgent   Urgency = "URGENT"
	Critical Urgency = "CRITICAL"
)

// Satisfaction is the citizen's rating at the return visit.
type Satisfaction string

// The ratings.
const (
	Satisfied          Satisfaction = "SATISFIED"
	BasicallySatisfied Satisfaction = "BASICALLY_SATISFIED"
	Dissatisfied       Satisfaction = "DISSATISFIED"
)

// SuggestedBy says what chose a ticket's suggested unit.
type SuggestedBy string

// The sources of a suggestion.
const (
	// SuggestedByRule: a routing rule matched the category and region.
	SuggestedByRule SuggestedBy = "rule"
	// SuggestedByModel: the unit model trained on past tickets, confident
	// enough for its automatic-dispatch threshold.
	SuggestedByModel SuggestedBy = "model"
	// SuggestedByHotline: the handling unit of the legacy number dialed.
	SuggestedByHotline SuggestedBy = "hotline"
)

// Suggested is intake's proposal for a request.
type Suggested struct {
	// Categories and Units are the top suggestions, best first, with
	// calibrated confidence.
	Categories []Guess `json:"categories,omitempty"`
	Units      []Guess `json:"units,omitempty"`
	// Model names the model version that made them.
	Model string `json:"model,omitempty"`
	// Auto reports that the top category was confident enough to be taken
	// without an operator (its automatic-dispatch threshold).
	Auto bool `json:"auto,omitempty"`
	// Region is the region the text names when the request came without
	// one (Code: the region code, Name: the place named); intake filed it
	// as the ticket's Location.RegionCode.
	Region *Guess `json:"region,omitempty"`
}

// Guess is one suggestion: a category code or a unit id, its display name,
// and the estimated probability that it is right.
type Guess struct {
	Code       string  `json:"code"`
	Name       string  `json:"name,omitempty"`
	Confidence float64 `json:"confidence"`
}

// Entity is a span of the request text recognised as a phone number, an ID
// number, an address, a place, an organisation, a date or an amount. Start
// and End count characters (runes) into Title + "\n" + Content.
type Entity struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	// Value is the normalised value (digits of a phone, YYYY-MM-DD, yuan).
	Value string `json:"value,omitempty"`
}

// Caller is the person who made the request. Phone and IDNumber are personal data.
type Caller struct {
	Name     string `json:"name,omitempty"`
	Phone    string `json:"phone,omitempty"`
	IDNumber string `json:"idNumber,omitempty"`
}

// Location is where the matter is.
type Location struct {
	Address    string `json:"address,omitempty"`
	RegionCode string `json:"regionCode,omitempty"`
}

// Ticket is a work order. Times are UTC; zero means unset.
type Ticket struct {
	ID             string      `json:"id"`
	TrackingNumber string      `json:"trackingNumber"`
	State          State       `json:"state"`
	Channel        Channel     `json:"channel"`
	DialedNumber   string      `json:"dialedNumber,omitempty"`
	Caller         Caller      `json:"caller"`
	Title          string      `json:"title"`
	Content        string      `json:"content"`
	Location       Location    `json:"location"`
	Category       string      `json:"category,omitempty"`
	RequestType    RequestType `json:"requestType"`
	Urgency        Urgency     `json:"urgency"`

	// Hotline is the legacy hotline dialed, when DialedNumber is one;
	// SuggestedUnit is where the registry routes it and SuggestedBy what
	// chose it (a routing rule or the legacy number); Emergency marks an
	// emergency linkage number (hand off at once).
	Hotline       string      `json:"hotline,omitempty"`
	SuggestedUnit string      `json:"suggestedUnit,omitempty"`
	SuggestedBy   SuggestedBy `json:"suggestedBy,omitempty"`
	Emergency     bool        `json:"emergency,omitempty"`

	HandlingUnit    string   `json:"handlingUnit,omitempty"`
	CoHandlingUnits []string `json:"coHandlingUnits,omitempty"`

	// Suggested is what intake's models proposed when the request was filed
	// (kept so that the operator's confirmation or correction — the final
	// Category and HandlingUnit — trains the next model).
	Suggested Suggested `json:"suggested,omitzero"`
	// Entities were found in the request text (phones and ID numbers among
	// them are personal data).
	Entities []Entity `json:"entities,omitempty"`

	SignBy                 time.Time `json:"signBy,omitzero"`
	ReplyBy                time.Time `json:"replyBy,omitzero"`
	Supervised             bool      `json:"supervised,omitempty"`
	ExtensionDaysRequested int       `json:"extensionDaysRequested,omitempty"`
	ExtensionDaysGranted   int       `json:"extensionDaysGranted,omitempty"`
	ReopenCount            int       `json:"reopenCount,omitempty"`

	Reply        string       `json:"reply,omitempty"`
	Satisfaction Satisfaction `json:"satisfaction,omitempty"`
	Resolved     *bool        `json:"resolved,omitempty"`

	CreateTime   time.Time `json:"createTime"`
	UpdateTime   time.Time `json:"updateTime"`
	DispatchTime time.Time `json:"dispatchTime,omitzero"`
	SignTime     time.Time `json:"signTime,omitzero"`
	ReplyTime    time.Time `json:"replyTime,omitzero"`
	CloseTime    time.Time `json:"closeTime,omitzero"`

	// Version starts at 1 and grows by one with every action.
	Version int64 `json:"version"`
}

// Overdue reports whether the deadline that counts in the ticket's current state
// has passed at now: sign-by while the unit has yet to sign, reply-by while it
// handles the ticket.
func (t *Ticket) Overdue(now time.Time) bool {
	switch {
	case t.State.AwaitingSign():
		return !t.SignBy.IsZero() && now.After(t.SignBy)
	case t.State.Handling():
		return !t.ReplyBy.IsZero() && now.After(t.ReplyBy)
	}
	return false
}

// Event is one entry of a ticket's append-only history.
type Event struct {
	TicketID string            `json:"ticketId"`
	Seq      int64             `json:"seq"`
	Action   string            `json:"action"`
	From     State             `json:"from,omitempty"`
	To       State             `json:"to"`
	Actor    string            `json:"actor"`
	Reason   string            `json:"reason,omitempty"`
	Details  map[string]string `json:"details,omitempty"`
	Time     time.Time         `json:"time"`
}
