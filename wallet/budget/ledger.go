package budget

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"
)

// Breakdowns a Ledger keeps, for Totals.
const (
	ByHop  = "hop"  // hop index in the circuit: "0" is the entry
	ByNode = "node" // node address, EIP-55 hex
	ByApp  = "app"  // application label as the caller gave it
	ByDay  = "day"  // calendar day, YYYY-MM-DD, in the period's time zone
	// ByProfile is the circuit profile a ticket paid for or a flow used
	// (RecordIssuedShared, RecordProfileWin, RecordTraffic).
	ByProfile = "profile"
)

var breakdowns = []string{ByHop, ByNode, ByApp, ByDay, ByProfile}

var (
	bucketMeta    = []byte("meta")
	bucketPeriods = []byte("periods")
	keyVersion    = []byte("version")
	keyCurrent    = []byte("current")
	keyState      = []byte("state")
)

const ledgerVersion = "1"

// maxLabel is the longest application label kept; longer ones are cut.
const maxLabel = 256

// Period is a budget period, [Start, End).
type Period struct {
	Start, End time.Time
}

// Contains reports whether t falls in the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// Duration is the period's length.
func (p Period) Duration() time.Duration { return p.End.Sub(p.Start) }

func (p Period) equal(q Period) bool { return p.Start.Equal(q.Start) && p.End.Equal(q.End) }

// String renders the period's bounds, e.g. "2026-03-01 00:00 UTC – 2026-04-01 00:00 UTC".
func (p Period) String() string {
	return p.Start.Format("2006-01-02 15:04 MST") + " – " + p.End.Format("2006-01-02 15:04 MST")
}

// key orders periods by start then end: two int64s with the sign bit
// flipped, big-endian.
func (p Period) key() []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k[0:8], uint64(p.Start.UnixNano())^(1<<63))
	binary.BigEndian.PutUint64(k[8:16], uint64(p.End.UnixNano())^(1<<63))
	return k
}

// Total is what was spent under one key of a breakdown.
type Total struct {
	Key     string   // see ByHop, ByNode, ByApp, ByDay, ByProfile
	Issued  *big.Int // expected value of the tickets issued
	Spent   *big.Int // winning tickets paid from the account: the actual spend
	Tickets uint64   // tickets issued (for an app: tickets that paid for some of its traffic)
	Wins    uint64   // winners paid
	// Traffic is what RecordTraffic recorded (by app and by profile only).
	Traffic
}

// Traffic is an application's or a profile's use of the network: bytes
// each way, flows opened and flows a block rule refused, with the rule
// and action that decided its latest flow.
type Traffic struct {
	Up, Down uint64
	Flows    uint64
	Blocked  uint64
	Rule     string // the rule that decided, as rules.Decision formats it
	Action   string // tunnel, tunnel(profile), direct or block
}

// PeriodSpend is a period's totals.
type PeriodSpend struct {
	Period  Period
	Budget  *big.Int // the budget last set for the period
	Spent   *big.Int // winning tickets paid from the account
	Issued  *big.Int // expected value of the tickets issued
	Tickets uint64
	Wins    uint64
}

// record is the stored form of a Total (JSON, amounts as decimal numbers).
type record struct {
	Issued  *big.Int `json:"issued"`
	Won     *big.Int `json:"won"`
	Tickets uint64   `json:"tickets"`
	Wins    uint64   `json:"wins"`
	Up      uint64   `json:"up,omitempty"`
	Down    uint64   `json:"down,omitempty"`
	Flows   uint64   `json:"flows,omitempty"`
	Blocked uint64   `json:"blocked,omitempty"`
	Rule    string   `json:"rule,omitempty"`
	Action  string   `json:"action,omitempty"`
}

// add adds d's amounts and counts; d's rule and action, if set, replace
// r's (the latest decision is shown).
func (r *record) add(d *record) {
	r.Issued = addInt(r.Issued, d.Issued)
	r.Won = addInt(r.Won, d.Won)
	r.Tickets += d.Tickets
	r.Wins += d.Wins
	r.Up += d.Up
	r.Down += d.Down
	r.Flows += d.Flows
	r.Blocked += d.Blocked
	if d.Action != "" {
		r.Rule, r.Action = d.Rule, d.Action
	}
}

// periodState is what the engine needs to resume a period.
type periodState struct {
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Budget     *big.Int  `json:"budget"`
	Issued     *big.Int  `json:"issued"`
	Won        *big.Int  `json:"won"`
	FaceSum    *big.Int  `json:"face_sum"` // sum of issued face values
	Tickets    uint64    `json:"tickets"`
	Wins       uint64    `json:"wins"`
	FirstIssue time.Time `json:"first_issue"` // zero until a ticket is issued
	Level      *big.Int  `json:"level"`       // throttle bucket at LevelAt
	LevelAt    time.Time `json:"level_at"`
}

// snapshot is the engine state that is set, not added, on every write.
type snapshot struct {
	period  Period
	budget  *big.Int
	level   *big.Int
	levelAt time.Time
}

// recKey names one breakdown record: by is a breakdown, key its stored key.
type recKey struct {
	by  string
	key string
}

// batch is spend not yet written for one period.
type batch struct {
	period     Period
	issued     *big.Int
	won        *big.Int
	faceSum    *big.Int
	tickets    uint64
	wins       uint64
	firstIssue time.Time
	recs       map[recKey]*record
}

func newBatch(p Period) *batch {
	return &batch{period: p, issued: new(big.Int), won: new(big.Int), faceSum: new(big.Int), recs: map[recKey]*record{}}
}

// add records d under hop, node, app and day.
func (b *batch) add(d *record, hop int, node common.Address, app, day string) {
	for _, k := range []recKey{
		{ByHop, string(hopKey(hop))},
		{ByNode, string(node[:])},
		{ByApp, string(appKey(app))},
		{ByDay, day},
	} {
		b.addTo(k, d)
	}
}

// addTo records d under one key.
func (b *batch) addTo(k recKey, d *record) {
	r := b.recs[k]
	if r == nil {
		r = &record{}
		b.recs[k] = r
	}
	r.add(d)
}

func hopKey(hop int) []byte {
	k := make([]byte, 4)
	binary.BigEndian.PutUint32(k, uint32(hop))
	return k
}

// appKey prefixes the label with 0x01: bbolt keys cannot be empty, and an
// empty label is a label.
func appKey(app string) []byte {
	if len(app) > maxLabel {
		app = app[:maxLabel]
	}
	return append([]byte{1}, app...)
}

func displayKey(by string, k []byte) string {
	switch by {
	case ByHop:
		if len(k) == 4 {
			return strconv.FormatUint(uint64(binary.BigEndian.Uint32(k)), 10)
		}
	case ByNode:
		if len(k) == common.AddressLength {
			return common.BytesToAddress(k).Hex()
		}
	case ByApp, ByProfile:
		if len(k) > 0 {
			return string(k[1:])
		}
	}
	return string(k)
}

// Ledger is the durable record of spend: per period, the engine's state
// (budget, actual spend, issued expected value) and breakdowns per hop,
// node, application and day. It is a bbolt file; every write is one
// transaction, fsync'd before it returns. A Ledger is safe for concurrent
// use; one Engine at a time should write to it.
type Ledger struct {
	db   *bolt.DB
	path string
}

// OpenLedger opens the ledger file at path, creating it if needed. It waits
// up to 2 seconds for another process holding the file to let go.
func OpenLedger(path string) (*Ledger, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("budget ledger %s: open: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keyVersion); v != nil && string(v) != ledgerVersion {
			return fmt.Errorf("unsupported ledger version %q", v)
		}
		if err := meta.Put(keyVersion, []byte(ledgerVersion)); err != nil {
			return err
		}
		_, err = tx.CreateBucketIfNotExists(bucketPeriods)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("budget ledger %s: initialize: %w", path, err)
	}
	return &Ledger{db: db, path: path}, nil
}

// Close closes the file. Later calls return errors.
func (l *Ledger) Close() error {
	if err := l.db.Close(); err != nil {
		return fmt.Errorf("budget ledger %s: close: %w", l.path, err)
	}
	return nil
}

// Path is the file's path.
func (l *Ledger) Path() string { return l.path }

// load returns the stored state of period p, zero if none.
func (l *Ledger) load(p Period) (periodState, error) {
	st := periodState{Start: p.Start, End: p.End}
	err := l.db.View(func(tx *bolt.Tx) error {
		pb := tx.Bucket(bucketPeriods).Bucket(p.key())
		if pb == nil {
			return nil
		}
		if v := pb.Get(keyState); v != nil {
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("decode period state: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return periodState{}, fmt.Errorf("budget ledger %s: load %v: %w", l.path, p, err)
	}
	return st, nil
}

// apply writes batches and the engine's snapshot (which also marks the
// current period) in one transaction.
func (l *Ledger) apply(batches []*batch, s snapshot) error {
	err := l.db.Update(func(tx *bolt.Tx) error {
		periods := tx.Bucket(bucketPeriods)
		for _, b := range batches {
			if err := applyBatch(periods, b); err != nil {
				return fmt.Errorf("period %v: %w", b.period, err)
			}
		}
		if err := setSnapshot(periods, s); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyCurrent, s.period.key())
	})
	if err != nil {
		return fmt.Errorf("budget ledger %s: write: %w", l.path, err)
	}
	return nil
}

func periodBucket(periods *bolt.Bucket, p Period) (*bolt.Bucket, periodState, error) {
	st := periodState{Start: p.Start, End: p.End}
	pb, err := periods.CreateBucketIfNotExists(p.key())
	if err != nil {
		return nil, st, err
	}
	if v := pb.Get(keyState); v != nil {
		if err := json.Unmarshal(v, &st); err != nil {
			return nil, st, fmt.Errorf("decode period state: %w", err)
		}
	}
	return pb, st, nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, buf)
}

func setSnapshot(periods *bolt.Bucket, s snapshot) error {
	pb, st, err := periodBucket(periods, s.period)
	if err != nil {
		return err
	}
	st.Budget, st.Level, st.LevelAt = s.budget, s.level, s.levelAt
	return putJSON(pb, keyState, &st)
}

func applyBatch(periods *bolt.Bucket, b *batch) error {
	pb, st, err := periodBucket(periods, b.period)
	if err != nil {
		return err
	}
	st.Issued = addInt(st.Issued, b.issued)
	st.Won = addInt(st.Won, b.won)
	st.FaceSum = addInt(st.FaceSum, b.faceSum)
	st.Tickets += b.tickets
	st.Wins += b.wins
	if !b.firstIssue.IsZero() && (st.FirstIssue.IsZero() || b.firstIssue.Before(st.FirstIssue)) {
		st.FirstIssue = b.firstIssue
	}
	if err := putJSON(pb, keyState, &st); err != nil {
		return err
	}
	for k, d := range b.recs {
		sub, err := pb.CreateBucketIfNotExists([]byte(k.by))
		if err != nil {
			return err
		}
		var r record
		if v := sub.Get([]byte(k.key)); v != nil {
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode %s record: %w", k.by, err)
			}
		}
		r.add(d)
		if err := putJSON(sub, []byte(k.key), &r); err != nil {
			return err
		}
	}
	return nil
}

// Current returns the totals of the period the engine last wrote; ok is
// false if it never wrote one.
func (l *Ledger) Current() (spend PeriodSpend, ok bool, err error) {
	err = l.db.View(func(tx *bolt.Tx) error {
		k := tx.Bucket(bucketMeta).Get(keyCurrent)
		if k == nil {
			return nil
		}
		pb := tx.Bucket(bucketPeriods).Bucket(k)
		if pb == nil {
			return nil
		}
		s, err := spendOf(pb)
		spend, ok = s, err == nil
		return err
	})
	if err != nil {
		return PeriodSpend{}, false, fmt.Errorf("budget ledger %s: current period: %w", l.path, err)
	}
	return spend, ok, nil
}

// Periods returns every period in the ledger, oldest first.
func (l *Ledger) Periods() ([]PeriodSpend, error) {
	var out []PeriodSpend
	err := l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPeriods).ForEachBucket(func(k []byte) error {
			s, err := spendOf(tx.Bucket(bucketPeriods).Bucket(k))
			if err != nil {
				return err
			}
			out = append(out, s)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("budget ledger %s: periods: %w", l.path, err)
	}
	return out, nil
}

func spendOf(pb *bolt.Bucket) (PeriodSpend, error) {
	var st periodState
	if v := pb.Get(keyState); v != nil {
		if err := json.Unmarshal(v, &st); err != nil {
			return PeriodSpend{}, fmt.Errorf("decode period state: %w", err)
		}
	}
	return PeriodSpend{
		Period: Period{st.Start, st.End},
		Budget: orZero(st.Budget), Spent: orZero(st.Won), Issued: orZero(st.Issued),
		Tickets: st.Tickets, Wins: st.Wins,
	}, nil
}

// Totals returns the current period's spend broken down by hop, node, app,
// day or profile (ByHop, ByNode, ByApp, ByDay, ByProfile). Days come in calendar order; the
// others by actual spend, largest first, then by issued expected value,
// then by key. A ledger without a current period has no totals.
func (l *Ledger) Totals(by string) ([]Total, error) {
	if err := checkBy(by); err != nil {
		return nil, err
	}
	var out []Total
	err := l.db.View(func(tx *bolt.Tx) error {
		k := tx.Bucket(bucketMeta).Get(keyCurrent)
		if k == nil {
			return nil
		}
		var err error
		out, err = totalsIn(tx, k, by)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("budget ledger %s: totals by %s: %w", l.path, by, err)
	}
	return out, nil
}

// TotalsFor is Totals for period p.
func (l *Ledger) TotalsFor(p Period, by string) ([]Total, error) {
	if err := checkBy(by); err != nil {
		return nil, err
	}
	var out []Total
	err := l.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = totalsIn(tx, p.key(), by)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("budget ledger %s: totals by %s for %v: %w", l.path, by, p, err)
	}
	return out, nil
}

func checkBy(by string) error {
	for _, b := range breakdowns {
		if by == b {
			return nil
		}
	}
	return fmt.Errorf("budget ledger: unknown breakdown %q (want %q, %q, %q, %q or %q)", by, ByHop, ByNode, ByApp, ByDay, ByProfile)
}

func totalsIn(tx *bolt.Tx, periodKey []byte, by string) ([]Total, error) {
	pb := tx.Bucket(bucketPeriods).Bucket(periodKey)
	if pb == nil {
		return nil, nil
	}
	sub := pb.Bucket([]byte(by))
	if sub == nil {
		return nil, nil
	}
	type keyed struct {
		raw []byte
		t   Total
	}
	var rows []keyed
	err := sub.ForEach(func(k, v []byte) error {
		var r record
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode %s record: %w", by, err)
		}
		rows = append(rows, keyed{
			raw: append([]byte(nil), k...),
			t: Total{
				Key: displayKey(by, k), Issued: orZero(r.Issued), Spent: orZero(r.Won),
				Tickets: r.Tickets, Wins: r.Wins,
				Traffic: Traffic{Up: r.Up, Down: r.Down, Flows: r.Flows, Blocked: r.Blocked, Rule: r.Rule, Action: r.Action},
			},
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if by != ByDay { // days stay in key (calendar) order
		sort.SliceStable(rows, func(i, j int) bool {
			a, b := rows[i].t, rows[j].t
			if c := a.Spent.Cmp(b.Spent); c != 0 {
				return c > 0
			}
			if c := a.Issued.Cmp(b.Issued); c != 0 {
				return c > 0
			}
			return bytes.Compare(rows[i].raw, rows[j].raw) < 0
		})
	}
	out := make([]Total, len(rows))
	for i, r := range rows {
		out[i] = r.t
	}
	return out, nil
}

func addInt(a, b *big.Int) *big.Int {
	s := new(big.Int)
	if a != nil {
		s.Set(a)
	}
	if b != nil {
		s.Add(s, b)
	}
	return s
}

func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(x)
}
