package ticket

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/pexia-network/pexia/contracts"
)

// Winners waiting to be claimed live in their own bucket, so a node's
// redeem pass reads only those, however many it has settled before.
var (
	bucketPending = []byte("pending")
	bucketSettled = []byte("settled")
	bucketMarks   = []byte("marks")
)

// WinnerState is where a stored winning ticket is in its life.
type WinnerState uint8

// Winner states.
const (
	WinnerPending  WinnerState = iota // stored, not yet paid
	WinnerPaid                        // claimed and paid on chain
	WinnerRejected                    // the Lottery refused it (see Reason)
	WinnerExpired                     // could not be claimed before its expiry
)

func (s WinnerState) String() string {
	switch s {
	case WinnerPending:
		return "pending"
	case WinnerPaid:
		return "paid"
	case WinnerRejected:
		return "rejected"
	case WinnerExpired:
		return "expired"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Winner is a winning ticket with what is needed to claim it.
type Winner struct {
	Ticket    contracts.Signed
	Reveal    common.Hash
	Digest    common.Hash
	Signer    common.Address
	NotBefore time.Time // claims reveal the secret: wait until its commitment is retired
	State     WinnerState
	Reason    contracts.Reason
	Paid      *big.Int
	Attempts  int
	LastError string
}

// Store keeps winning tickets and nonce marks in a bbolt file. Every write
// is fsync'd before it returns.
type Store struct {
	db *bolt.DB
}

// OpenStore opens (creating if needed) the store at path.
func OpenStore(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("ticket store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketPending, bucketSettled, bucketMarks} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("ticket store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// AddWinner stores w and raises the signer's mark to its nonce, durably.
func (s *Store) AddWinner(w *Winner) error {
	b, err := json.Marshal(w)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketPending).Put(w.Digest[:], b); err != nil {
			return err
		}
		return putMark(tx, w.Signer, w.Ticket.Nonce)
	})
}

// UpdateWinner rewrites a stored winner (its state after a claim attempt);
// a settled winner moves out of the pending bucket.
func (s *Store) UpdateWinner(w *Winner) error {
	b, err := json.Marshal(w)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if w.State == WinnerPending {
			return tx.Bucket(bucketPending).Put(w.Digest[:], b)
		}
		if err := tx.Bucket(bucketPending).Delete(w.Digest[:]); err != nil {
			return err
		}
		return tx.Bucket(bucketSettled).Put(w.Digest[:], b)
	})
}

// Winners returns stored winners in state (all states if state is nil),
// ordered by signer then nonce: the order the Lottery's marks need.
func (s *Store) Winners(state *WinnerState) ([]*Winner, error) {
	var out []*Winner
	buckets := [][]byte{bucketPending, bucketSettled}
	if state != nil && *state == WinnerPending {
		buckets = buckets[:1]
	} else if state != nil {
		buckets = buckets[1:]
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, name := range buckets {
			err := tx.Bucket(name).ForEach(func(k, v []byte) error {
				var w Winner
				if err := json.Unmarshal(v, &w); err != nil {
					return fmt.Errorf("winner %x: %w", k, err)
				}
				if state == nil || w.State == *state {
					out = append(out, &w)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Signer.Cmp(out[j].Signer); c != 0 {
			return c < 0
		}
		return out[i].Ticket.Nonce < out[j].Ticket.Nonce
	})
	return out, err
}

// Marks returns every signer's highest accepted nonce.
func (s *Store) Marks() (map[common.Address]uint64, error) {
	m := map[common.Address]uint64{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMarks).ForEach(func(k, v []byte) error {
			if len(k) != common.AddressLength || len(v) != 8 {
				return errors.New("corrupt mark")
			}
			m[common.BytesToAddress(k)] = binary.BigEndian.Uint64(v)
			return nil
		})
	})
	return m, err
}

// SaveMarks raises the stored marks to those given.
func (s *Store) SaveMarks(m map[common.Address]uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for a, n := range m {
			if err := putMark(tx, a, n); err != nil {
				return err
			}
		}
		return nil
	})
}

func putMark(tx *bolt.Tx, signer common.Address, nonce uint64) error {
	b := tx.Bucket(bucketMarks)
	if v := b.Get(signer[:]); len(v) == 8 && binary.BigEndian.Uint64(v) >= nonce {
		return nil
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], nonce)
	return b.Put(signer[:], v[:])
}
