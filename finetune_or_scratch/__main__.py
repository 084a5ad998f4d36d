from finetune_or_scratch.cli import main

main()
