// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

interface IERC20 {
    function totalSupply() external view returns (uint256);
    function balanceOf(address owner) external view returns (uint256);
    function allowance(address owner, address spender) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function approve(address spender, uint256 amount) external returns (bool);

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
}

/// Token calls that work with tokens returning bool, returning nothing, or
/// reverting, and fail loudly on a false return.
library SafeToken {
    error TokenCallFailed(address token);

    function safeTransfer(IERC20 token, address to, uint256 amount) internal {
        call(token, abi.encodeCall(IERC20.transfer, (to, amount)));
    }

    function safeTransferFrom(IERC20 token, address from, address to, uint256 amount) internal {
        call(token, abi.encodeCall(IERC20.transferFrom, (from, to, amount)));
    }

    function call(IERC20 token, bytes memory data) private {
        if (address(token).code.length == 0) revert TokenCallFailed(address(token));
        (bool ok, bytes memory ret) = address(token).call(data);
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool)))) revert TokenCallFailed(address(token));
    }
}
