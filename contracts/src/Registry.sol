// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

/// @title Pexia node registry
/// @notice What a client needs to reach and pay a node, keyed by the node's
/// own address: only that key can change its entry.
contract Registry {
    uint8 public constant ROLE_RELAY = 1;
    uint8 public constant ROLE_EXIT = 2;
    uint256 public constant MAX_URL = 256;
    uint256 public constant MAX_POLICY = 512;

    struct Node {
        string url; // HTTPS signaling endpoint taking an SDP offer
        bytes32 handshakeKey; // Noise static public key (X25519)
        bytes32 tlsFingerprint; // SHA-256 of the signaling certificate (DER)
        address token; // currency the node is paid in; 0 = native coin
        uint128 pricePerGB; // in token's smallest unit per 10^9 bytes
        bytes2 country; // ISO 3166-1 alpha-2, upper case
        uint8 roles; // ROLE_RELAY | ROLE_EXIT
        uint64 updated; // block time of the last change
        string exitPolicy; // summary, e.g. "accept *:80,*:443; reject *:25"
    }

    error BadURL();
    error BadKey();
    error BadCountry();
    error BadRoles();
    error BadPolicy();
    error Unknown();

    event Update(address indexed node, string url, bytes2 country, uint8 roles, uint128 pricePerGB);
    event Remove(address indexed node);

    mapping(address => Node) private nodes_;

    /// Create or replace the caller's entry.
    function set(
        string calldata url,
        bytes32 handshakeKey,
        bytes32 tlsFingerprint,
        address token,
        uint128 pricePerGB,
        bytes2 country,
        uint8 roles,
        string calldata exitPolicy
    ) external {
        if (bytes(url).length == 0 || bytes(url).length > MAX_URL) revert BadURL();
        if (handshakeKey == bytes32(0)) revert BadKey();
        if (!upper(country[0]) || !upper(country[1])) revert BadCountry();
        if (roles == 0 || roles > (ROLE_RELAY | ROLE_EXIT)) revert BadRoles();
        if (bytes(exitPolicy).length > MAX_POLICY) revert BadPolicy();
        nodes_[msg.sender] = Node(
            url, handshakeKey, tlsFingerprint, token, pricePerGB, country, roles, uint64(block.timestamp), exitPolicy
        );
        emit Update(msg.sender, url, country, roles, pricePerGB);
    }

    /// Change only the price.
    function setPrice(uint128 pricePerGB) external {
        Node storage n = nodes_[msg.sender];
        if (n.handshakeKey == bytes32(0)) revert Unknown();
        n.pricePerGB = pricePerGB;
        n.updated = uint64(block.timestamp);
        emit Update(msg.sender, n.url, n.country, n.roles, pricePerGB);
    }

    /// Delete the caller's entry.
    function remove() external {
        if (nodes_[msg.sender].handshakeKey == bytes32(0)) revert Unknown();
        delete nodes_[msg.sender];
        emit Remove(msg.sender);
    }

    /// The node's entry; handshakeKey == 0 means it has none.
    function look(address node) external view returns (Node memory) {
        return nodes_[node];
    }

    function upper(bytes1 c) private pure returns (bool) {
        return c >= 0x41 && c <= 0x5a;
    }
}
