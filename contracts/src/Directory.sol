// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {IERC20, SafeToken} from "./SafeToken.sol";

/// @title Pexia stake directory
/// @notice Stakers lock tokens on nodes (stakees). scan(point) picks a stake
/// with probability proportional to its amount, in O(log n) storage reads,
/// through a Fenwick (binary indexed) tree of prefix sums over stake slots.
///
/// Every (staker, stakee) pair owns one slot, allocated on its first push and
/// never moved, so a node's address does not change position as others come
/// and go; a slot whose stake drops to zero simply has zero weight. Appending
/// a slot costs O(log n) reads and one new word; changing a stake costs
/// O(log n) writes.
///
/// Withdrawals are two-step: pull moves stake out of the tree into a pending
/// withdrawal that matures after the stake's delay; take pays it out. A
/// stake's delay can only grow, so clients can trust it as a commitment.
contract Directory {
    using SafeToken for IERC20;

    struct Stake {
        uint128 amount;
        uint64 delay;
        uint64 slot; // 1-based index in the tree; 0 = never staked
    }

    struct Pending {
        address stakee;
        uint64 expire;
        uint128 amount;
    }

    error ZeroAmount();
    error DelayDecrease(uint64 current);
    error Insufficient();
    error Immature(uint64 expire);
    error Empty();

    event Update(address indexed stakee, address indexed staker, uint128 amount, uint64 delay, uint256 heft);
    event Pull(address indexed staker, uint256 indexed id, address stakee, uint128 amount, uint64 expire);
    event Take(address indexed staker, uint256 indexed id, address target, uint128 amount);

    IERC20 public immutable token;

    /// Sum of all stakes.
    uint256 public total;
    /// Number of tree slots allocated.
    uint256 public count;

    mapping(bytes32 => Stake) private stakes_; // keccak(staker, stakee)
    mapping(uint256 => uint256) private tree_; // Fenwick partial sums, 1-based
    mapping(uint256 => address) private stakers_; // slot => staker
    mapping(uint256 => address) private stakees_; // slot => stakee
    mapping(address => uint256) private heft_; // stakee => total stake on it
    mapping(address => mapping(uint256 => Pending)) private pendings_;
    mapping(address => uint256) private pendingIds_;

    constructor(IERC20 token_) {
        token = token_;
    }

    function key(address staker, address stakee) private pure returns (bytes32 k) {
        assembly ("memory-safe") {
            mstore(0x00, shl(96, staker))
            mstore(0x14, shl(96, stakee))
            k := keccak256(0x00, 40)
        }
    }

    // ---- staking ----

    /// Stake amount (pulled with transferFrom) on stakee with at least delay
    /// seconds between pull and take. delay may not be lower than before.
    function push(address stakee, uint128 amount, uint64 delay) external {
        if (amount == 0) revert ZeroAmount();
        bytes32 k = key(msg.sender, stakee);
        Stake storage s = stakes_[k];
        if (delay < s.delay) revert DelayDecrease(s.delay);
        token.safeTransferFrom(msg.sender, address(this), amount);

        uint64 slot = s.slot;
        if (slot == 0) {
            slot = uint64(++count);
            s.slot = slot;
            stakers_[slot] = msg.sender;
            stakees_[slot] = stakee;
            // tree[i] covers (i - lowbit(i), i]; gather the children below i.
            uint256 sum = amount;
            uint256 low = slot - (slot & (~uint256(slot) + 1));
            for (uint256 j = slot - 1; j > low; j -= j & (~j + 1)) {
                sum += tree_[j];
            }
            tree_[slot] = sum;
        } else {
            add(slot, amount);
        }
        s.amount += amount;
        s.delay = delay;
        total += amount;
        uint256 h = heft_[stakee] + amount;
        heft_[stakee] = h;
        emit Update(stakee, msg.sender, s.amount, delay, h);
    }

    /// Raise the delay of an existing stake.
    function wait(address stakee, uint64 delay) external {
        Stake storage s = stakes_[key(msg.sender, stakee)];
        if (delay < s.delay) revert DelayDecrease(s.delay);
        s.delay = delay;
        emit Update(stakee, msg.sender, s.amount, delay, heft_[stakee]);
    }

    /// Remove amount of stake from stakee at once (it stops counting for
    /// selection) into a pending withdrawal that matures after the delay.
    function pull(address stakee, uint128 amount) external returns (uint256 id) {
        if (amount == 0) revert ZeroAmount();
        Stake storage s = stakes_[key(msg.sender, stakee)];
        if (amount > s.amount) revert Insufficient();
        s.amount -= amount;
        sub(s.slot, amount);
        total -= amount;
        uint256 h = heft_[stakee] - amount;
        heft_[stakee] = h;
        id = pendingIds_[msg.sender]++;
        uint64 expire = uint64(block.timestamp) + s.delay;
        pendings_[msg.sender][id] = Pending(stakee, expire, amount);
        emit Update(stakee, msg.sender, s.amount, s.delay, h);
        emit Pull(msg.sender, id, stakee, amount, expire);
    }

    /// Pay out a matured pending withdrawal.
    function take(uint256 id, address target) external {
        Pending memory p = pendings_[msg.sender][id];
        if (p.amount == 0) revert Insufficient();
        if (block.timestamp < p.expire) revert Immature(p.expire);
        delete pendings_[msg.sender][id];
        emit Take(msg.sender, id, target, p.amount);
        token.safeTransfer(target, p.amount);
    }

    function add(uint256 i, uint256 amount) private {
        uint256 n = count;
        for (; i <= n; i += i & (~i + 1)) {
            tree_[i] += amount;
        }
    }

    function sub(uint256 i, uint256 amount) private {
        uint256 n = count;
        for (; i <= n; i += i & (~i + 1)) {
            tree_[i] -= amount;
        }
    }

    // ---- views ----

    /// Pick the stake holding point (mod total) on the line of all stakes laid
    /// end to end: for a uniform point this is a stake-weighted draw.
    function scan(uint256 point) external view returns (address stakee, address staker, uint128 amount, uint64 delay) {
        uint256 t = total;
        if (t == 0) revert Empty();
        uint256 rest = point % t;
        uint256 n = count;
        uint256 bit = 1;
        while (bit <= n >> 1) bit <<= 1;
        uint256 pos = 0;
        for (; bit != 0; bit >>= 1) {
            uint256 next = pos + bit;
            if (next <= n) {
                uint256 v = tree_[next];
                if (v <= rest) {
                    pos = next;
                    rest -= v;
                }
            }
        }
        uint256 slot = pos + 1;
        stakee = stakees_[slot];
        staker = stakers_[slot];
        Stake storage s = stakes_[key(staker, stakee)];
        return (stakee, staker, s.amount, s.delay);
    }

    /// Total stake on stakee from all stakers.
    function heft(address stakee) external view returns (uint256) {
        return heft_[stakee];
    }

    function stake(address staker, address stakee) external view returns (uint128 amount, uint64 delay) {
        Stake storage s = stakes_[key(staker, stakee)];
        return (s.amount, s.delay);
    }

    function pending(address staker, uint256 id) external view returns (address stakee, uint64 expire, uint128 amount) {
        Pending storage p = pendings_[staker][id];
        return (p.stakee, p.expire, p.amount);
    }
}
