// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title stablegate's sweeper: one per hot wallet, fixed at deployment.
/// @notice Two roles in one contract. On the contract itself, sweepMany is the batch: called by the
/// hot wallet only, it asks each deposit address to send an amount of a token to the hot wallet.
/// As the code of a deposit address (EIP-7702 delegation), sweep is that address's only action:
/// callable only by this contract, it transfers the amount to the hot wallet. Nothing else can
/// move a delegated address's tokens through it, and nothing can change where they go.
contract Sweeper {
    /// @notice Where every sweep goes, and the only caller of sweepMany.
    address public immutable hot;
    /// @dev The contract's own address: as a delegate, address(this) is the deposit address.
    address private immutable self;

    error NotHotWallet();
    error NotSweeper();
    error Lengths();
    error TransferFailed(address from);

    constructor(address hot_) {
        hot = hot_;
        self = address(this);
    }

    /// @notice Sweeps amounts[i] of token from each from[i] to the hot wallet. An address with no
    /// delegation to this contract (its authorization was not applied) does nothing: the token's
    /// Transfer logs say what moved.
    function sweepMany(address token, address[] calldata from, uint256[] calldata amounts) external {
        if (msg.sender != hot || address(this) != self) revert NotHotWallet();
        if (from.length != amounts.length) revert Lengths();
        for (uint256 i = 0; i < from.length; i++) {
            Sweeper(from[i]).sweep(token, amounts[i]);
        }
    }

    /// @notice Runs as a delegated deposit address's code: sends amount of token to the hot wallet.
    function sweep(address token, uint256 amount) external {
        if (msg.sender != self) revert NotSweeper();
        // transfer(address,uint256); USDT on Ethereum returns nothing, the others true.
        (bool ok, bytes memory ret) = token.call(abi.encodeWithSelector(0xa9059cbb, hot, amount));
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool)))) revert TransferFailed(address(this));
    }
}
