// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {IERC20} from "../SafeToken.sol";

/// @title An ERC20 with a transfer hook, for tests only (never deployed by
/// the product). Like an ERC777 sender hook, the next transferFrom or
/// transfer after arm() first makes one call of the owner's choosing, so a
/// test can re-enter the contract that moves the tokens. The token can also
/// act as an account itself through exec(), so it can be the funder that
/// re-enters.
contract ReentrantToken is IERC20 {
    uint256 public totalSupply;
    address public immutable owner;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    address private hookTarget;
    bytes private hookData;
    /// Whether the armed hook's call succeeded (false: it reverted).
    bool public hookOK;
    /// The hook's revert data when it failed.
    bytes public hookError;

    error NotOwner();
    error Insufficient();
    error ExecFailed(bytes reason);

    constructor() {
        owner = msg.sender;
    }

    modifier onlyOwner() {
        if (msg.sender != owner && msg.sender != address(this)) revert NotOwner();
        _;
    }

    function mint(address to, uint256 amount) external onlyOwner {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    /// The next transfer or transferFrom first calls target with data, once.
    /// A failing call is recorded in hookOK and hookError, not propagated.
    function arm(address target, bytes calldata data) external onlyOwner {
        hookTarget = target;
        hookData = data;
    }

    /// Calls target with data as this token (to deposit, warn, withdraw...).
    function exec(address target, bytes calldata data) external onlyOwner returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) revert ExecFailed(ret);
        return ret;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        hook();
        move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        hook();
        uint256 a = allowance[from][msg.sender];
        if (a != type(uint256).max) {
            if (a < amount) revert Insufficient();
            allowance[from][msg.sender] = a - amount;
        }
        move(from, to, amount);
        return true;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function hook() private {
        address target = hookTarget;
        if (target == address(0)) return;
        hookTarget = address(0);
        (bool ok, bytes memory ret) = target.call(hookData);
        hookOK = ok;
        hookError = ret;
    }

    function move(address from, address to, uint256 amount) private {
        uint256 b = balanceOf[from];
        if (b < amount) revert Insufficient();
        balanceOf[from] = b - amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}
