/**
 * SIGINT during training: the first asks the Trainer to stop after the current step (it then saves a checkpoint),
 * a second exits at once.
 */
export class SigintWatch {
  interrupted = false;
  private readonly onSigint = () => {
    if (this.interrupted) {
      this.say('Second SIGINT: exiting without saving');
      process.exit(130);
    }
    this.interrupted = true;
    this.say('SIGINT: finishing the current step, then saving a checkpoint (SIGINT again to exit at once)');
  };

  constructor(private readonly say: (text: string) => void) {
    process.on('SIGINT', this.onSigint);
  }

  dispose(): void {
    process.off('SIGINT', this.onSigint);
  }
}
