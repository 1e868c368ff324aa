// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

/// @title Pexia curated node lists
/// @notice Anyone can create a named list; its owner approves and revokes
/// nodes. Clients pick which lists they trust.
contract Curator {
    struct List {
        address owner;
        uint64 size;
        mapping(address => bool) approved;
    }

    error Taken();
    error NotOwner();
    error EmptyName();

    event Create(bytes32 indexed list, string name, address indexed owner);
    event Transfer(bytes32 indexed list, address indexed owner);
    event Approve(bytes32 indexed list, address indexed node, bool approved);

    mapping(bytes32 => List) private lists_;

    function listId(string memory name) public pure returns (bytes32) {
        return keccak256(bytes(name));
    }

    function create(string calldata name) external returns (bytes32 id) {
        if (bytes(name).length == 0) revert EmptyName();
        id = listId(name);
        List storage l = lists_[id];
        if (l.owner != address(0)) revert Taken();
        l.owner = msg.sender;
        emit Create(id, name, msg.sender);
    }

    modifier onlyOwner(bytes32 id) {
        if (lists_[id].owner != msg.sender) revert NotOwner();
        _;
    }

    function transfer(bytes32 id, address owner) external onlyOwner(id) {
        lists_[id].owner = owner;
        emit Transfer(id, owner);
    }

    /// Approve (ok = true) or revoke (ok = false) each of nodes.
    function set(bytes32 id, address[] calldata nodes, bool ok) external onlyOwner(id) {
        List storage l = lists_[id];
        uint64 size = l.size;
        for (uint256 i = 0; i < nodes.length; ++i) {
            address n = nodes[i];
            if (l.approved[n] == ok) continue;
            l.approved[n] = ok;
            if (ok) ++size;
            else --size;
            emit Approve(id, n, ok);
        }
        l.size = size;
    }

    function good(bytes32 id, address node) external view returns (bool) {
        return lists_[id].approved[node];
    }

    function info(bytes32 id) external view returns (address owner, uint64 size) {
        List storage l = lists_[id];
        return (l.owner, l.size);
    }
}
