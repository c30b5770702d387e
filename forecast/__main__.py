from forecast.cli import main

# Guarded: the sampler's worker processes import the main module again.
if __name__ == "__main__":
    main()
