// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {IERC20, SafeToken} from "./SafeToken.sol";

/// @title Pexia probabilistic nanopayments
/// @notice A funder keeps, per (token, funder, signer), a balance that pays
/// winning tickets and an escrow that is forfeited when the balance cannot
/// cover a winner. The signer is a hot key that signs tickets off chain; only
/// winning tickets ever reach the chain.
///
/// Ticket wire layout (five words of calldata, see docs/PROTOCOL.md):
///
///   reveal   bytes32  the recipient's secret; the ticket signs keccak256(reveal)
///   packed0  uint256  issued:64 | nonce:64 | faceValue:128
///   packed1  uint256  expire:32 (seconds after issued) | ratio:64 | funder:160
///   r, vs    bytes32  EIP-2098 compact secp256k1 signature of the digest
///
/// digest = keccak256(0x19 0x00 lottery chainid token recipient commit packed0 packed1)
/// (EIP-191 version 0, bound to this contract and chain).
///
/// A ticket wins when the low 64 bits of keccak256(reveal, digest) are <= ratio,
/// so the win probability is (ratio+1)/2^64. The reveal is checked against the
/// commitment through the signature: a wrong reveal yields a different digest
/// and therefore a different (unfunded) signer.
///
/// Replay protection is a high-water mark per (signer, recipient): a ticket is
/// accepted only if its nonce is above every nonce claimed before for that
/// pair. Only the recipient itself may claim its tickets, so it controls the
/// order (the node claims its winners sorted by nonce) and nobody else can
/// raise its mark. This costs one warm storage write per claim instead of a
/// fresh slot per ticket.
///
/// Reentrancy: every function that changes state is nonReentrant (one lock
/// in transient storage), so no token hook, coin recipient or recipient
/// contract can enter the lottery while a deposit, withdrawal, claim or
/// collection is in progress. depositToken needs it: it credits the balance
/// difference around transferFrom, and a deposit made from inside that
/// transferFrom (an ERC777-style sender hook) would otherwise be counted by
/// both calls. withdraw and collect also update their state before paying.
contract Lottery {
    using SafeToken for IERC20;

    /// Why a ticket in a claim batch was not paid. Bad tickets do not revert
    /// the batch; each is reported with a Rejected event.
    enum Reason {
        None,
        Expired, // block time is past issued+expire
        BadSignature, // signature invalid, forged, or reveal does not match the commitment
        NotWinner, // the draw is above the ratio
        Replayed, // nonce not above the recipient's high-water mark for this signer
        Unfunded // the account holds neither balance nor escrow
    }

    struct Ticket {
        bytes32 reveal;
        uint256 packed0;
        uint256 packed1;
        bytes32 r;
        bytes32 vs;
    }

    struct Account {
        uint128 balance;
        uint128 escrow;
    }

    struct Lock {
        uint128 warned;
        uint64 unlock;
    }

    error ZeroSigner();
    error EscrowExceedsDeposit();
    error Overflow();
    error Insufficient();
    error Locked(uint64 unlock);
    error NotWarned();
    error TransferFailed();
    error Reentrancy();

    /// Account state changed by the funder (deposit, move, warn, withdraw).
    event Update(
        bytes32 indexed account,
        address indexed token,
        address indexed funder,
        address signer,
        uint128 balance,
        uint128 escrow,
        uint128 warned,
        uint64 unlock
    );
    /// A winning ticket paid amount from account to the claiming recipient.
    event Won(bytes32 indexed ticket, bytes32 indexed account, uint256 amount);
    /// An overdraft forfeited amount of the account's escrow.
    event Burned(bytes32 indexed account, uint256 amount);
    /// A ticket in a claim batch was skipped.
    event Rejected(bytes32 indexed ticket, Reason reason);
    /// A recipient withdrew its earnings.
    event Collected(address indexed token, address indexed recipient, address target, uint256 amount);

    /// Seconds between warn and the earliest withdrawal.
    uint64 public immutable delay;

    mapping(bytes32 => Account) private accounts_;
    mapping(bytes32 => Lock) private locks_;
    mapping(bytes32 => uint256) private marks_; // keccak(signer, recipient) => highest claimed nonce
    mapping(bytes32 => uint256) private earnings_; // keccak(token, recipient) => unclaimed winnings

    /// Set while a state-changing call runs (transient: cleared after every
    /// transaction).
    bool private transient entered;

    constructor(uint64 delay_) {
        delay = delay_;
    }

    modifier nonReentrant() {
        if (entered) revert Reentrancy();
        entered = true;
        _;
        entered = false;
    }

    // ---- keys and views ----

    function accountKey(address token, address funder, address signer) public pure returns (bytes32 key) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, shl(96, token))
            mstore(add(p, 20), shl(96, funder))
            mstore(add(p, 40), shl(96, signer))
            key := keccak256(p, 60)
        }
    }

    function pairKey(address a, address b) private pure returns (bytes32 key) {
        assembly ("memory-safe") {
            mstore(0x00, shl(96, a))
            mstore(0x14, shl(96, b))
            key := keccak256(0x00, 40)
        }
    }

    function account(address token, address funder, address signer)
        external
        view
        returns (uint128 balance, uint128 escrow, uint128 warned, uint64 unlock)
    {
        bytes32 key = accountKey(token, funder, signer);
        Account storage a = accounts_[key];
        Lock storage l = locks_[key];
        return (a.balance, a.escrow, l.warned, l.unlock);
    }

    function earnings(address token, address recipient) external view returns (uint256) {
        return earnings_[pairKey(token, recipient)];
    }

    /// The highest nonce claimed so far for tickets from signer to recipient.
    function mark(address signer, address recipient) external view returns (uint256) {
        return marks_[pairKey(signer, recipient)];
    }

    /// The digest a signer signs; exposed so off-chain encoders can be checked.
    function ticketDigest(address token, address recipient, bytes32 commit, uint256 packed0, uint256 packed1)
        public
        view
        returns (bytes32 d)
    {
        address self = address(this);
        uint256 id = block.chainid;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, 0x1900000000000000000000000000000000000000000000000000000000000000)
            mstore(add(p, 2), shl(96, self))
            mstore(add(p, 22), id)
            mstore(add(p, 54), shl(96, token))
            mstore(add(p, 74), shl(96, recipient))
            mstore(add(p, 94), commit)
            mstore(add(p, 126), packed0)
            mstore(add(p, 158), packed1)
            d := keccak256(p, 190)
        }
    }

    // ---- funding ----

    /// Deposit native coin: msg.value minus escrow_ goes to the balance.
    function deposit(address signer, uint128 escrow_) external payable nonReentrant {
        if (escrow_ > msg.value) revert EscrowExceedsDeposit();
        credit(address(0), signer, msg.value - escrow_, escrow_);
    }

    /// Deposit an ERC20: amount is pulled with transferFrom (approve first);
    /// what actually arrived minus escrow_ goes to the balance.
    function depositToken(IERC20 token, address signer, uint256 amount, uint128 escrow_) external nonReentrant {
        if (address(token) == address(0)) revert TransferFailed();
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (escrow_ > received) revert EscrowExceedsDeposit();
        credit(address(token), signer, received - escrow_, escrow_);
    }

    function credit(address token, address signer, uint256 toBalance, uint256 toEscrow) private {
        if (signer == address(0)) revert ZeroSigner();
        bytes32 key = accountKey(token, msg.sender, signer);
        Account storage a = accounts_[key];
        uint256 b = uint256(a.balance) + toBalance;
        uint256 e = uint256(a.escrow) + toEscrow;
        if (b > type(uint128).max || e > type(uint128).max) revert Overflow();
        a.balance = uint128(b);
        a.escrow = uint128(e);
        emitUpdate(key, token, signer);
    }

    /// Move amount from balance to escrow. Moving back requires warn and withdraw.
    function move(address token, address signer, uint128 amount) external nonReentrant {
        bytes32 key = accountKey(token, msg.sender, signer);
        Account storage a = accounts_[key];
        if (a.balance < amount) revert Insufficient();
        uint256 e = uint256(a.escrow) + amount;
        if (e > type(uint128).max) revert Overflow();
        a.balance -= amount;
        a.escrow = uint128(e);
        emitUpdate(key, token, signer);
    }

    /// Announce a withdrawal of up to amount (from balance, then escrow). The
    /// clock restarts on every warn; amount 0 cancels. Recipients treat warned
    /// funds as already gone.
    function warn(address token, address signer, uint128 amount) external nonReentrant {
        bytes32 key = accountKey(token, msg.sender, signer);
        Lock storage l = locks_[key];
        l.warned = amount;
        l.unlock = amount == 0 ? 0 : uint64(block.timestamp) + delay;
        emitUpdate(key, token, signer);
    }

    /// Withdraw up to the warned amount once the delay has passed.
    function withdraw(address token, address signer, uint128 amount, address payable target) external nonReentrant {
        bytes32 key = accountKey(token, msg.sender, signer);
        Lock storage l = locks_[key];
        if (l.unlock == 0) revert NotWarned();
        if (block.timestamp < l.unlock) revert Locked(l.unlock);
        if (amount > l.warned) revert Insufficient();
        Account storage a = accounts_[key];
        uint128 fromBalance = amount <= a.balance ? amount : a.balance;
        uint128 fromEscrow = amount - fromBalance;
        if (fromEscrow > a.escrow) revert Insufficient();
        a.balance -= fromBalance;
        a.escrow -= fromEscrow;
        l.warned -= amount;
        if (l.warned == 0) l.unlock = 0;
        emitUpdate(key, token, signer);
        pay(token, target, amount);
    }

    function emitUpdate(bytes32 key, address token, address signer) private {
        Account storage a = accounts_[key];
        Lock storage l = locks_[key];
        emit Update(key, token, msg.sender, signer, a.balance, a.escrow, l.warned, l.unlock);
    }

    function pay(address token, address payable target, uint256 amount) private {
        if (amount == 0) return;
        if (token == address(0)) {
            (bool ok,) = target.call{value: amount}("");
            if (!ok) revert TransferFailed();
        } else {
            IERC20(token).safeTransfer(target, amount);
        }
    }

    // ---- claiming ----

    /// Claim winning tickets paying msg.sender in token. Tickets that fail
    /// are skipped with a Rejected event; the winnings are added to the
    /// caller's earnings, withdrawn with collect. Tickets from one signer must
    /// be ordered by nonce.
    function claim(address token, Ticket[] calldata tickets) external nonReentrant returns (uint256 total) {
        for (uint256 i = 0; i < tickets.length; ++i) {
            total += claimOne(token, tickets[i]);
        }
        if (total != 0) {
            earnings_[pairKey(token, msg.sender)] += total;
        }
    }

    function claimOne(address token, Ticket calldata t) private returns (uint256) {
        uint256 packed0 = t.packed0;
        uint256 packed1 = t.packed1;
        bytes32 reveal = t.reveal;
        bytes32 id = ticketDigest(token, msg.sender, keccak256(abi.encode(reveal)), packed0, packed1);

        if (block.timestamp > (packed0 >> 192) + (packed1 >> 224)) return reject(id, Reason.Expired);

        bytes32 vs = t.vs;
        bytes32 s = vs & 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff;
        // Reject malleable high-s signatures (EIP-2).
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) {
            return reject(id, Reason.BadSignature);
        }
        address signer = ecrecover(id, uint8((uint256(vs) >> 255) + 27), t.r, s);
        if (signer == address(0)) return reject(id, Reason.BadSignature);

        if (uint64(uint256(keccak256(abi.encode(reveal, id)))) > uint64(packed1 >> 160)) {
            return reject(id, Reason.NotWinner);
        }

        bytes32 key = accountKey(token, address(uint160(packed1)), signer);
        Account storage a = accounts_[key];
        uint128 balance = a.balance;
        uint128 escrow = a.escrow;
        if (balance == 0 && escrow == 0) return reject(id, Reason.Unfunded);

        bytes32 pk = pairKey(signer, msg.sender);
        uint256 nonce = uint64(packed0 >> 128);
        if (nonce <= marks_[pk]) return reject(id, Reason.Replayed);
        marks_[pk] = nonce;

        uint128 amount = uint128(packed0);
        if (amount <= balance) {
            a.balance = balance - amount;
        } else {
            // Overdraft: pay what the balance and escrow can, burn the rest of
            // the escrow (the front-running penalty of seed 001 §5.10).
            uint128 fromEscrow = amount - balance;
            if (fromEscrow > escrow) fromEscrow = escrow;
            amount = balance + fromEscrow;
            uint128 burned = escrow - fromEscrow;
            a.balance = 0;
            a.escrow = 0;
            // Forfeited escrow stays locked in this contract for good.
            if (burned != 0) emit Burned(key, burned);
        }
        emit Won(id, key, amount);
        return amount;
    }

    function reject(bytes32 id, Reason reason) private returns (uint256) {
        emit Rejected(id, reason);
        return 0;
    }

    /// Withdraw amount of the caller's winnings in token to target.
    function collect(address token, uint256 amount, address payable target) external nonReentrant {
        bytes32 k = pairKey(token, msg.sender);
        uint256 have = earnings_[k];
        if (amount > have) revert Insufficient();
        earnings_[k] = have - amount;
        emit Collected(token, msg.sender, target, amount);
        pay(token, target, amount);
    }
}
